"""The staff pages, mounted under /portal/ (namespace "portal")."""

from django.urls import path

from . import audiences_views, schedules_views, views

app_name = "portal"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("send/", views.send, name="send"),
    path("broadcasts/<int:pk>/", views.broadcast_detail, name="broadcast"),
    path("broadcasts/<int:pk>/refresh/", views.broadcast_refresh, name="broadcast_refresh"),
    path("broadcasts/<int:pk>/stop/", views.broadcast_steer, {"action": "stop"}, name="broadcast_stop"),
    path("broadcasts/<int:pk>/pause/", views.broadcast_steer, {"action": "pause"}, name="broadcast_pause"),
    path("broadcasts/<int:pk>/resume/", views.broadcast_steer, {"action": "resume"}, name="broadcast_resume"),
    path("broadcasts/<int:pk>/move/", views.broadcast_steer, {"action": "move"}, name="broadcast_move"),
    path("broadcasts/<int:pk>/resend/", views.broadcast_resend, name="broadcast_resend"),
    path("calls/", views.calls_list, name="calls"),
    path("calls/export.csv", views.calls_export, {"file_format": "csv"}, name="calls_export_csv"),
    path("calls/export-excel.csv", views.calls_export, {"file_format": "csv-excel"}, name="calls_export_csv_excel"),
    path("calls/export.xlsx", views.calls_export, {"file_format": "xlsx"}, name="calls_export_xlsx"),
    path("exports/<int:pk>/download/", views.calls_export_download, name="calls_export_download"),
]

# Contact lists (pages/audiences_views.py).
urlpatterns += [
    path("lists/", audiences_views.contact_lists, name="contact_lists"),
    path("lists/<int:pk>/", audiences_views.contact_list, name="contact_list"),
    path("lists/<int:pk>/remove/<int:contact_pk>/", audiences_views.contact_list_remove, name="contact_list_remove"),
    path("lists/import/", audiences_views.contacts_import, name="contacts_import"),
    path("send/save-list/", audiences_views.send_save_list, name="send_save_list"),
    path("contacts/<int:pk>/", audiences_views.contact_detail, name="contact"),
    path("consents/<int:pk>/withdraw/", audiences_views.consent_withdraw, name="consent_withdraw"),
]

# Repeating broadcasts (pages/schedules_views.py).
urlpatterns += [
    path("schedules/", schedules_views.schedules, name="schedules"),
    path("schedules/new/", schedules_views.schedule_new, name="schedule_new"),
    path("schedules/<int:pk>/", schedules_views.schedule_detail, name="schedule"),
    path("schedules/<int:pk>/change/", schedules_views.schedule_edit, name="schedule_edit"),
    path("schedules/<int:pk>/pause/", schedules_views.schedule_steer, {"action": "pause"}, name="schedule_pause"),
    path("schedules/<int:pk>/resume/", schedules_views.schedule_steer, {"action": "resume"}, name="schedule_resume"),
    path("schedules/<int:pk>/end/", schedules_views.schedule_steer, {"action": "end"}, name="schedule_end"),
]
