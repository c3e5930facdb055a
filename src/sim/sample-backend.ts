import { cp, mkdtemp, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packageRoot } from '../package.js';

/**
 * The sample backend shipped in the package (samples/thor-backend), for the demo and the
 * tests: a Django-like tree before its cutover, and the two ways its cleanup can go.
 *
 * - `none`: as shipped; every REST timer, view, route and polling client is there.
 * - `runbook`: what following the runbook literally leaves behind. Its check,
 *   `git grep "AccountBalanceJob\|PositionsJob\|IntraDayJob"`, never finds `IntradayJob` (spelling)
 *   nor `MarketMetricsJob` (not in the list); phase 4 says "ThorTrading/views.py or
 *   GlobalMarkets/views.py", so GlobalMarkets' view and route stay; nothing mentions the
 *   frontend's polling. One leftover of every kind remains (timer, view, route, client).
 * - `complete`: everything of the REST path deleted; only lines about the WebSocket path
 *   (allowed by marker or allow list) still mention the jobs.
 */
export type SampleCleanup = 'none' | 'runbook' | 'complete';

export function sampleBackendDir(): string {
  return join(packageRoot(), 'samples', 'thor-backend');
}

/** The sample's config: per-feature polling patterns (docs are mentions, no allow entry needed). */
export const SAMPLE_CONFIG = 'thor-cutover.config.json';

/** File edits of each cleanup: new content, or null to delete the file. */
const STACK_START_RUNBOOK = `"""Start the job stack: every REST timer is registered here."""
from channels.layers import get_channel_layer

from GlobalMarkets.jobs import MarketMetricsJob
from GlobalMarkets.services.heartbeat import JobRegistry
from ThorTrading.jobs import IntradayJob

# Get channel layer once at startup
channel_layer = get_channel_layer()
registry = JobRegistry()

intraday_job = IntradayJob(channel_layer=channel_layer)


def start_stack():
    registry.register(
        intraday_job,
        interval=1,
        per_symbol=True,
    )
    registry.register(MarketMetricsJob(channel_layer=channel_layer), interval=10)
    registry.start()
`;

const JOBS_RUNBOOK = `"""REST timer jobs: each fills the table a REST view serves."""
from GlobalMarkets.services.heartbeat import BaseJob
from GlobalMarkets.services.websocket_broadcast import broadcast_to_websocket_sync, build_intraday_bar_message
from GlobalMarkets.services.websocket_features import WebSocketFeatureFlags


class IntradayJob(BaseJob):
    name = "intraday"

    def execute(self):
        bars = self.fetch_and_store_intraday_bars()
        if WebSocketFeatureFlags().is_intraday_enabled():
            for bar in bars:
                broadcast_to_websocket_sync(self.channel_layer, build_intraday_bar_message(bar))
`;

const ROOT_URLS_RUNBOOK = `from django.urls import include, path

urlpatterns = [
    path("api/", include("GlobalMarkets.urls")),
]
`;

const ACTANDPOS_VIEWS_RUNBOOK = `from .positions import Position  # the model stays: the WS broadcast reads it
`;

const STACK_START_COMPLETE = `"""Start the job stack. The REST timers are gone: market data is pushed over /ws/."""
from channels.layers import get_channel_layer

from GlobalMarkets.services.heartbeat import JobRegistry

channel_layer = get_channel_layer()
registry = JobRegistry()


def start_stack():
    registry.start()
`;

const ROOT_URLS_COMPLETE = `# The REST API is gone: every feature arrives over the WebSocket at /ws/ (thor_project/asgi.py).
urlpatterns = []
`;

const EDITS: Record<Exclude<SampleCleanup, 'none'>, Record<string, string | null>> = {
  runbook: {
    'ThorTrading/services/stack_start.py': STACK_START_RUNBOOK,
    'ThorTrading/jobs.py': JOBS_RUNBOOK,
    'ThorTrading/views.py': null,
    'ThorTrading/serializers.py': null,
    'ThorTrading/urls.py': null,
    'ActAndPos/urls.py': null,
    'ActAndPos/views.py': ACTANDPOS_VIEWS_RUNBOOK,
    'thor_project/urls.py': ROOT_URLS_RUNBOOK,
  },
  complete: {
    'ThorTrading/services/stack_start.py': STACK_START_COMPLETE,
    'ThorTrading/jobs.py': null,
    'GlobalMarkets/jobs.py': null,
    'ThorTrading/views.py': null,
    'ThorTrading/serializers.py': null,
    'ThorTrading/urls.py': null,
    'GlobalMarkets/views.py': null,
    'GlobalMarkets/urls.py': null,
    'ActAndPos/urls.py': null,
    'ActAndPos/views.py': null,
    'thor_project/urls.py': ROOT_URLS_COMPLETE,
    'frontend/src/api/rest.ts': null,
    'frontend/src/pollers/positions.ts': null,
  },
};

/** Apply a cleanup to a copy of the sample (never to the shipped one). */
export async function applySampleCleanup(dir: string, cleanup: SampleCleanup): Promise<void> {
  if (cleanup === 'none') return;
  for (const [rel, content] of Object.entries(EDITS[cleanup])) {
    const file = join(dir, ...rel.split('/'));
    if (content === null) await unlink(file);
    else await writeFile(file, content);
  }
}

export interface SampleCopy {
  dir: string;
  /** The sample's config file: pass it with --config so the audit uses its patterns and allow list. */
  configPath: string;
  remove(): Promise<void>;
}

/** Copy the sample to a fresh temp dir (not a git repo: the audit walks it) and apply a cleanup. */
export async function copySampleBackend(opts: { cleanup?: SampleCleanup; parent?: string } = {}): Promise<SampleCopy> {
  const dir = await mkdtemp(join(opts.parent ?? tmpdir(), 'thor-backend-'));
  await cp(sampleBackendDir(), dir, { recursive: true });
  await applySampleCleanup(dir, opts.cleanup ?? 'none');
  return { dir, configPath: join(dir, SAMPLE_CONFIG), remove: () => rm(dir, { recursive: true, force: true }) };
}
