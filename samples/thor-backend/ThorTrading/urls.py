from django.urls import path

from ThorTrading import views

urlpatterns = [
    path("api/account/balance/", views.account_balance, name="account-balance"),
    path("api/intraday/bars/", views.intraday_bars, name="intraday-bars"),
]
