"""The WebSocket consumer at /ws/: every feature's messages reach the socket through send_message."""
from channels.generic.websocket import AsyncJsonWebsocketConsumer

GROUP = "market_data"


class MarketConsumer(AsyncJsonWebsocketConsumer):
    async def connect(self):
        await self.channel_layer.group_add(GROUP, self.channel_name)
        await self.accept()

    async def disconnect(self, code):
        await self.channel_layer.group_discard(GROUP, self.channel_name)

    async def send_message(self, event):
        # websocket_broadcast.broadcast_to_websocket_sync sends {"type": "send_message", "message": ...}
        await self.send_json(event["message"])
