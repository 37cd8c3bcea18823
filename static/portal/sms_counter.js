/* The follow-up SMS's live counter: characters and SMS parts as staff type.
   The same sums as exolve_portal/exolve/sms_text.py (the one the portal trusts):
   GSM-7 160 per SMS, 153 per part when split (the extension table's characters count two);
   any other character makes the text UCS-2: 70 per SMS, 67 per part. The words come from
   the page (#sms-counter's data attributes), translated there. */
(function () {
  "use strict";
  var BASIC = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?" +
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
  var EXTENSION = "^{}\\[~]|€\f";

  function size(text) {
    var gsm = true, units = 0, i, ch;
    for (i = 0; i < text.length; i++) {
      ch = text.charAt(i);
      if (BASIC.indexOf(ch) < 0 && EXTENSION.indexOf(ch) < 0) { gsm = false; break; }
      units += EXTENSION.indexOf(ch) >= 0 ? 2 : 1;
    }
    var sizes = gsm ? [160, 153] : [70, 67];
    if (!gsm) { units = text.length; } /* UTF-16 code units, as the server counts */
    var parts = units === 0 ? 0 : (units <= sizes[0] ? 1 : Math.ceil(units / sizes[1]));
    return {encoding: gsm ? "GSM-7" : "UCS-2", units: units, parts: parts};
  }

  function start() {
    var field = document.querySelector("textarea[data-sms-counter]");
    var counter = document.getElementById("sms-counter");
    if (!field || !counter) { return; }
    field.parentNode.parentNode.appendChild(counter);
    counter.hidden = false;
    var update = function () {
      var s = size(field.value);
      var words = counter.getAttribute(s.parts > 10 ? "data-too-long" : "data-words");
      counter.textContent = words.replace("%(chars)s", s.units).replace("%(parts)s", s.parts)
        .replace("%(encoding)s", s.encoding);
      counter.className = s.parts > 10 ? "help sms-counter errornote" : "help sms-counter";
    };
    field.addEventListener("input", update);
    update();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
}());
