from rest_framework.decorators import api_view
from rest_framework.response import Response

from ThorTrading.models import AccountSnapshot
from .positions import Position


@api_view(["GET"])
def positions_view(request):
    snap = AccountSnapshot.latest_for(request.user)
    rows = Position.objects.filter(account_id=snap.account_id)
    return Response({
        "account_id": snap.account_id,
        "positions": [p.as_dict() for p in rows],
        "timestamp": snap.timestamp.isoformat(),
    })
