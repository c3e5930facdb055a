from django.urls import include, path

urlpatterns = [
    path("", include("ThorTrading.urls")),
    path("api/", include("GlobalMarkets.urls")),
]
