from django.urls import path

from .views import positions_view

app_name = "actandpos"

urlpatterns = [
    path("positions/", positions_view, name="positions"),
]
