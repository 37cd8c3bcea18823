"""VoiceMessage: the local mirror of one Exolve voice message (Exolve is the source of truth).

``save()`` and ``delete()`` keep Exolve in step, through ``provisioning.py`` (which
holds every call to Exolve for them):
- ``save()`` of a new message creates it at Exolve first and stores the returned id;
  if Exolve refuses, ``ProvisioningError`` is raised and nothing is saved.
- ``save()`` after a change to what Exolve holds (name, media id, redirect) creates a
  new copy at Exolve, stores its id and deletes the old copy once that is committed
  (Exolve has no Update).
- ``delete()`` deletes at Exolve, then here; ``QuerySet.delete()`` does so per message.
- ``bulk_update_or_create_from_exolve()`` is the only way rows come from Exolve's
  answers; it never calls Create.
- Every write of a row increments ``version``; ``save()`` of a copy whose version is
  no longer the stored one raises ``VoiceMessageChangedMeanwhile`` (optimistic check),
  so a stale edit never overwrites someone else's, and its new copy at Exolve is undone.
- Exolve is never called inside the local write transaction: Create happens before
  it opens (SQLite holds its write lock for the whole transaction).
"""

from __future__ import annotations

from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.db import IntegrityError, models, router, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from exolve_portal.exolve.client import VoiceMessageInfo
from exolve_portal.fields import staff_member

from . import provisioning
from .exceptions import BulkDeleteError, VoiceMessageChangedMeanwhile
from .provisioning import BulkDeleteReport, Created
from .validators import (
    MEDIA_ID_MAX,
    NAME_MAX_LENGTH,
    media_id_validators,
    normalise_redirect_number,
    redirect_digit_validators,
    validate_not_only_spaces,
    validate_redirect_number,
)

DIGIT_WITHOUT_NUMBER = _("A redirect digit needs a redirect number: give the number, or leave the digit empty (or 0).")

# The fields Exolve holds: changing any of them means a new copy at Exolve.
PROVISIONED_FIELDS = ("name", "media_id", "redirect_digit", "redirect_number")
# Columns a sync writes (never created_by or the local timestamps it does not own).
SYNCED_COLUMNS = [*PROVISIONED_FIELDS, "exolve_created_at", "raw", "missing_since", "synced_at", "updated_at"]
# Columns a sync keeps from its own row when a save adopts that row (Exolve's answer
# is fuller than Create's).
ADOPTED_COLUMNS = ("exolve_created_at", "raw", "synced_at")


class VoiceMessageQuerySet(models.QuerySet):
    def delete(self):
        """Delete each message at Exolve, then here; one failure does not stop the rest.

        Returns Django's ``(count, {label: count})`` when all went; otherwise raises
        ``BulkDeleteError`` (its ``report`` says which were deleted) after trying all.
        """
        report = self.delete_each()
        if report.failed:
            raise BulkDeleteError(report)
        return len(report.deleted), {self.model._meta.label: len(report.deleted)}

    delete.alters_data = True
    delete.queryset_only = True

    def delete_each(self, progress=None) -> BulkDeleteReport:
        """Delete each message at Exolve (concurrently), then the deleted ones here.

        Exolve's "not found" counts as deleted; any other failure keeps that row.
        ``progress(done, total)``, if given, is called in this thread as answers come.
        """
        report = provisioning.delete_each_at_exolve(list(self.order_by("pk")), progress)
        if report.deleted:
            # Exolve no longer has them: remove the rows without asking Exolve again.
            self.model.objects.filter(pk__in=[m.pk for m in report.deleted]).delete_locally()
        return report

    delete_each.alters_data = True
    delete_each.queryset_only = True

    def delete_locally(self):
        """Delete the rows here only, without telling Exolve (for messages already gone there)."""
        return models.QuerySet.delete(self)

    delete_locally.alters_data = True
    delete_locally.queryset_only = True

    def missing_at_exolve(self):
        return self.filter(missing_since__isnull=False)


def _related_rows_exist(rows) -> bool:
    """True when any record (a call, a broadcast) points to one of ``rows``."""
    for relation in rows.model._meta.related_objects:
        if relation.one_to_many or relation.one_to_one:
            lookup = {f"{relation.field.name}__in": rows.values("pk")}
            if relation.related_model._base_manager.filter(**lookup).exists():
                return True
    return False


class VoiceMessage(models.Model):
    exolve_id = models.CharField(_("Exolve id"), max_length=128, unique=True, editable=False)
    name = models.CharField(
        _("name"),
        max_length=NAME_MAX_LENGTH,
        validators=[validate_not_only_spaces],
        error_messages={"blank": _("Give the voice message a name.")},
    )
    media_id = models.PositiveBigIntegerField(
        _("media id"),
        null=True,  # only for rows synced from Exolve without a usable media id
        validators=media_id_validators,
        error_messages={
            "invalid": _("Enter the media id as a whole number, for example 1967."),
            "blank": _("Enter the media id of the audio file."),
        },
        help_text=_("The id of an audio file in the media library of the Exolve personal account."),
    )
    redirect_digit = models.PositiveSmallIntegerField(
        _("redirect digit"),
        default=0,
        validators=redirect_digit_validators,
        help_text=_(
            "Optional. The key (0 to 9) the person presses to be put through to the redirect number; "
            "empty means 0. Leave it empty when there is no redirect number."
        ),
    )
    redirect_number = models.CharField(
        _("redirect number"),
        max_length=32,
        blank=True,
        validators=[validate_redirect_number],
        help_text=_("Optional. The number to put the person through to, 9 to 14 digits."),
    )
    exolve_created_at = models.DateTimeField(_("created at Exolve"), null=True, blank=True, editable=False)
    raw = models.JSONField(_("last answer from Exolve"), default=dict, blank=True, editable=False)
    synced_at = models.DateTimeField(_("last synced"), null=True, blank=True, editable=False)
    missing_since = models.DateTimeField(
        _("missing at Exolve since"),
        null=True,
        blank=True,
        editable=False,
        help_text=_("Set when a sync did not find this message at Exolve."),
    )
    created_by = staff_member(_("created by"), related_name="created_voice_messages", editable=False)
    created_at = models.DateTimeField(_("created here"), auto_now_add=True)
    updated_at = models.DateTimeField(_("changed here"), auto_now=True)
    # Incremented by every write; an edit of an older version is refused (see save()).
    version = models.PositiveIntegerField(_("version"), default=1)

    objects = VoiceMessageQuerySet.as_manager()

    class Meta:
        verbose_name = _("voice message")
        verbose_name_plural = _("voice messages")
        ordering = ["-created_at", "-pk"]
        permissions = [("sync_voicemessages", _("Can sync voice messages from Exolve"))]
        constraints = [
            models.CheckConstraint(condition=~Q(exolve_id=""), name="voicemessage_exolve_id_not_empty"),
            models.CheckConstraint(
                condition=Q(redirect_digit__gte=0, redirect_digit__lte=9), name="voicemessage_redirect_digit_0_9"
            ),
        ]
        indexes = [models.Index(fields=["missing_since"], name="voicemessage_missing_idx")]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # What Exolve holds for this row, as last loaded or saved; None for a new object.
        self._exolve_values: tuple | None = None
        # Set by provisioning.create_at_exolve until the row holding the new id is written.
        self.exolve_pending: Created | None = None
        # What the last save() did at Exolve (None: nothing), and whether it met a sync's row.
        self.last_created: Created | None = None
        self.met_sync = False

    def __str__(self):
        return self.name

    def save(self, *args, **kwargs):
        """Save here, creating (or re-creating) the message at Exolve first when needed.

        Raises ValidationError or ProvisioningError without saving anything, and
        VoiceMessageChangedMeanwhile (nothing saved) when the row is no longer at the
        version this copy was loaded at. If the local write fails after Create, the
        new copy is deleted at Exolve again. Create happens before the local
        transaction opens, so no database lock is held while Exolve answers.
        """
        using = kwargs.get("using") or router.db_for_write(type(self), instance=self)
        with provisioning.provisioning_guard(using):
            if self.needs_provisioning():
                provisioning.create_at_exolve(self)
            created = self.exolve_pending
            if created:
                # Again: create_at_exolve may have run (in a form) outside any guard.
                provisioning.track_created(created.exolve_id, self.name)
            if (update_fields := kwargs.get("update_fields")) is not None:
                extra = {"version", *PROVISIONED_FIELDS, "exolve_id", *SYNCED_COLUMNS} if created else {"version"}
                kwargs["update_fields"] = {*update_fields, *extra}
            # A savepoint, so a failed write leaves the caller's transaction usable
            # and the guard can check what was stored.
            before = (self.pk, self.version, self._state.adding)
            try:
                with transaction.atomic(using=using):
                    self._write(using, args, kwargs)
            except BaseException:
                self.pk, self.version, self._state.adding = before  # nothing was written
                raise
            self.exolve_pending, self.last_created = None, created
            self._exolve_values = self._provisioned_values()
            if created:
                provisioning.replace_at_exolve(created, self.name, using=using)

    save.alters_data = True

    def _write(self, using, args, kwargs) -> None:
        """The local write of save(), inside its transaction: version check, then the row."""
        if not self._state.adding:
            self._claim_version(using)
        try:
            with transaction.atomic(using=using):
                super().save(*args, **kwargs)
            return
        except IntegrityError:
            twin = self._row_stored_by_sync(using)
            if twin is None:
                raise
        # A sync stored the message just created at Exolve while Create was answering:
        # keep one row. A new message becomes that row (keeping this save's fields);
        # a changed one keeps its own row (its calls) and the sync's copy goes.
        self.met_sync = True
        if self._state.adding:
            self.pk = twin.pk
            self._state.adding = False
            # Its version now, locked: a sync writing it again meanwhile is no reason to refuse a new message.
            stored = type(self)._base_manager.using(using).select_for_update().filter(pk=twin.pk)
            self.version = stored.values_list("version", flat=True).first() or twin.version
            for name in ADOPTED_COLUMNS:
                setattr(self, name, getattr(twin, name))
            kwargs = {**kwargs, "force_insert": False}
            self._claim_version(using)
        else:
            twin.delete_locally()
        super().save(*args, **kwargs)

    def _claim_version(self, using) -> None:
        """Increment the stored version if it is still this copy's; else refuse the save.

        The conditional UPDATE also locks the row until the save commits (PostgreSQL),
        so two saves of one version cannot both pass.
        """
        claimed = (
            type(self)
            ._base_manager.using(using)
            .filter(pk=self.pk, version=self.version)
            .update(version=F("version") + 1)
        )
        if not claimed:
            raise VoiceMessageChangedMeanwhile(self)
        self.version += 1

    def _row_stored_by_sync(self, using) -> VoiceMessage | None:
        """The other row holding this save's new Exolve id, if a sync stored one meanwhile."""
        if not self.exolve_pending:
            return None
        rows = type(self)._base_manager.using(using).filter(exolve_id=self.exolve_pending.exolve_id)
        if self.pk is not None and not self._state.adding:
            rows = rows.exclude(pk=self.pk)
        if not self._state.adding and _related_rows_exist(rows):
            return None  # never drop history: let the error show
        return rows.first()

    def delete(self, *args, **kwargs):
        """Delete at Exolve, then here. Raises VoiceMessageDeleteError (row kept) if Exolve fails."""
        provisioning.delete_at_exolve(self)
        return super().delete(*args, **kwargs)

    delete.alters_data = True

    def delete_locally(self):
        """Delete the row here only, without telling Exolve (for a message already gone there)."""
        return models.Model.delete(self)

    delete_locally.alters_data = True

    @classmethod
    def from_db(cls, db, field_names, values, **kwargs):
        instance = super().from_db(db, field_names, values, **kwargs)
        if all(name in instance.__dict__ for name in PROVISIONED_FIELDS):
            instance._exolve_values = instance._provisioned_values()
        return instance

    def _provisioned_values(self) -> tuple:
        return tuple(getattr(self, name) for name in PROVISIONED_FIELDS)

    @property
    def is_missing_at_exolve(self) -> bool:
        return self.missing_since is not None

    def needs_provisioning(self) -> bool:
        """True when saving must Create at Exolve: a new message, or a changed synced one.

        An unsaved object given an ``exolve_id`` is stored as it is (test data, imports).
        """
        if self.exolve_pending:
            return False
        if not self.exolve_id:
            return True
        if self._exolve_values is None:
            if self._state.adding:
                return False
            # Loaded with deferred fields: compare with what is stored.
            self._exolve_values = type(self)._base_manager.filter(pk=self.pk).values_list(*PROVISIONED_FIELDS).first()
        return self._provisioned_values() != self._exolve_values

    def clean_fields(self, exclude=None):
        """Also normalises the redirect number as people type it (+7 (999) 123-45-67)."""
        exclude = set(exclude or ())
        problems = {}
        if "redirect_number" not in exclude:
            try:
                self.redirect_number = normalise_redirect_number(self.redirect_number)
            except ValidationError as error:
                problems["redirect_number"] = error.error_list
                exclude.add("redirect_number")
        try:
            super().clean_fields(exclude=exclude)
        except ValidationError as error:
            problems = error.update_error_dict(problems)
        if problems:
            raise ValidationError(problems)

    def clean(self):
        super().clean()
        if self.redirect_digit and not self.redirect_number:
            raise ValidationError(
                {"redirect_number": ValidationError(DIGIT_WITHOUT_NUMBER, code="digit_without_number")}
            )

    def validate_for_exolve(self) -> None:
        """Raise ValidationError unless the fields Exolve holds are valid; nothing is sent."""
        exclude = [f.name for f in self._meta.fields if f.name not in PROVISIONED_FIELDS]
        self.full_clean(exclude=exclude, validate_unique=False, validate_constraints=False)

    @staticmethod
    def values_from_exolve(info: VoiceMessageInfo) -> dict:
        """The column values for Exolve's GetInfo answer; odd values are kept only in ``raw``."""
        media_id = info.media_id if info.media_id is not None and 1 <= info.media_id <= MEDIA_ID_MAX else None
        return {
            "name": (info.name or "")[:NAME_MAX_LENGTH],
            "media_id": media_id,
            "redirect_digit": info.digit if 0 <= (info.digit or 0) <= 9 else 0,
            "redirect_number": (info.redirect_number or "")[:32],
            "exolve_created_at": info.created_at,
            "raw": info.raw,
            "missing_since": None,
        }

    @classmethod
    def bulk_update_or_create_from_exolve(
        cls, infos: Iterable[VoiceMessageInfo], *, existing: dict, now=None, dry_run: bool = False
    ) -> tuple[list[VoiceMessage], list[str]]:
        """Store many GetInfo answers in a few queries; never calls Create.

        ``existing`` maps exolve_id -> the row already here (the caller fetched them in
        one query). Returns the rows and, for each, "created", "updated" or "unchanged".
        With ``dry_run`` nothing is written.
        """
        now = now or timezone.now()
        rows, outcomes = [], []
        to_create, to_update, unchanged_pks = [], [], []
        for info in infos:
            values = cls.values_from_exolve(info)
            row = existing.get(info.id)
            if row is None:
                row = cls(exolve_id=info.id, synced_at=now, **values)
                to_create.append(row)
                outcome = "created"
            elif any(getattr(row, name) != value for name, value in values.items()):
                for name, value in values.items():
                    setattr(row, name, value)
                row.synced_at = row.updated_at = now
                to_update.append(row)
                outcome = "updated"
            else:
                unchanged_pks.append(row.pk)
                outcome = "unchanged"
            rows.append(row)
            outcomes.append(outcome)
        if dry_run:
            return rows, outcomes
        with transaction.atomic():
            # A row stored meanwhile (a concurrent save or sync) takes Exolve's values.
            cls.objects.bulk_create(
                to_create,
                batch_size=500,
                update_conflicts=True,
                unique_fields=["exolve_id"],
                update_fields=SYNCED_COLUMNS,
            )
            for row in to_update:
                # Only if no save re-provisioned the row meanwhile (its Exolve id changed):
                # this answer is about the old copy. Counts as a change for edits in progress.
                if cls.objects.filter(pk=row.pk, exolve_id=row.exolve_id).update(
                    **{name: getattr(row, name) for name in SYNCED_COLUMNS}, version=F("version") + 1
                ):
                    row.version += 1
            for start in range(0, len(unchanged_pks), 500):
                cls.objects.filter(pk__in=unchanged_pks[start : start + 500]).update(synced_at=now)
        for row in rows:
            row._exolve_values = row._provisioned_values()
        return rows, outcomes


class OrphanedVoiceMessage(models.Model):
    """A voice message left at Exolve that the portal meant to delete but could not.

    Recorded so the difference is shown in the admin instead of being lost.
    """

    REPLACED = "replaced"
    NOT_STORED = "not_stored"
    REASONS = [
        (REPLACED, _("replaced by a changed copy, the old one could not be deleted")),
        (NOT_STORED, _("created at Exolve but not saved in the portal, and could not be deleted")),
    ]

    exolve_id = models.CharField(_("Exolve id"), max_length=128)
    name = models.CharField(_("name"), max_length=NAME_MAX_LENGTH, blank=True)
    reason = models.CharField(_("reason"), max_length=32, choices=REASONS)
    error = models.TextField(_("error"), blank=True)
    recorded_at = models.DateTimeField(_("recorded"), auto_now_add=True)

    class Meta:
        verbose_name = _("voice message left at Exolve")
        verbose_name_plural = _("voice messages left at Exolve")
        ordering = ["-recorded_at", "-pk"]

    def __str__(self):
        return f"{self.name} ({self.exolve_id})"
