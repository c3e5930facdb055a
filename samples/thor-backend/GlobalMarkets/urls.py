from django.urls import path

from GlobalMarkets.views import market_status

urlpatterns = [
    path(
        "market/status/",
        market_status,
        name="market-status",
    ),
]
