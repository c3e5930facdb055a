from django.urls import include, path

urlpatterns = [
    path("", include("ThorTrading.urls")),
    path("api/", include(("ActAndPos.urls", "actandpos"), namespace="actandpos")),
    path("api/", include("GlobalMarkets.urls")),
]
