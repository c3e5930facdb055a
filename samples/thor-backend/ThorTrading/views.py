from rest_framework.decorators import api_view
from rest_framework.response import Response

from ThorTrading.models import AccountSnapshot, Bar
from ThorTrading.serializers import AccountSnapshotSerializer


@api_view(["GET"])
def account_balance(request):
    snap = AccountSnapshot.latest_for(request.user)
    return Response(AccountSnapshotSerializer(snap).data)


@api_view(["GET"])
def intraday_bars(request):
    return Response([bar.as_dict() for bar in Bar.latest_per_symbol()])
