from rest_framework.decorators import api_view
from rest_framework.response import Response

from ThorTrading.models import AccountSnapshot, Bar


@api_view(["GET"])
def account_balance(request):
    snap = AccountSnapshot.latest_for(request.user)
    return Response({
        "account_id": snap.account_id,
        "cash": snap.cash,
        "portfolio_value": snap.portfolio_value,
        "buying_power": snap.buying_power,
        "timestamp": snap.timestamp.isoformat(),
    })


@api_view(["GET"])
def intraday_bars(request):
    return Response([bar.as_dict() for bar in Bar.latest_per_symbol()])
