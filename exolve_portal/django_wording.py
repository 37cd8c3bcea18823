"""Django's own admin words that its Russian catalogue lacks or puts wrongly, named here for ours.

`make messages` collects strings from this project's code only; naming Django's msgids
here puts them in locale/ru, whose translations win over Django's (LOCALE_PATHS come
first). Each must be Django's msgid exactly, or it changes nothing. Nothing imports this.
"""

from django.utils.translation import gettext_noop

DJANGO_MSGIDS = (
    # Django 6's blank choice of every select (the actions menu, the message picker): not in its Russian.
    gettext_noop("- Select an option -"),
    # The date hierarchy's label (the audit log): not in its Russian.
    gettext_noop("Filter by %(field_name)s"),
    # The delete confirmations: Django's Russian runs "объект типа" into the model's name
    # ("объект типаголосовое сообщение") and answers in the masculine ("Да, я уверен").
    gettext_noop(
        "Are you sure you want to delete the %(object_name)s “%(escaped_object)s”? "
        "All of the following related items will be deleted:"
    ),
    gettext_noop(
        "Deleting the %(object_name)s “%(escaped_object)s” would result in deleting "
        "related objects, but your account doesn't have permission to delete the "
        "following types of objects:"
    ),
    gettext_noop(
        "Deleting the %(object_name)s “%(escaped_object)s” would require deleting the "
        "following protected related objects:"
    ),
    gettext_noop(
        "Deleting the selected %(objects_name)s would result in deleting related "
        "objects, but your account doesn't have permission to delete the following "
        "types of objects:"
    ),
    gettext_noop("Yes, I’m sure"),
    # "Delete selected" of a model without its own message: Django's Russian "Успешно удалены 1 …".
    gettext_noop("Successfully deleted %(count)d %(items)s."),
    # The titles that put the model's name into a sentence: Django's Russian needs a case
    # the name does not have ("Выберите рассылка", "Добавить пользователь"); ours name it
    # after a colon, where the name reads as it is.
    gettext_noop("Add %s"),
    gettext_noop("Change %s"),
    gettext_noop("View %s"),
    gettext_noop("Select %s"),
    gettext_noop("Select %s to change"),
    gettext_noop("Select %s to view"),
    gettext_noop("Add %(name)s"),
    gettext_noop("Add another %(verbose_name)s"),
    gettext_noop("Change selected %(model)s"),
    # Django's Russian: "Сохранить и добавить другой объект".
    gettext_noop("Save and add another"),
)
