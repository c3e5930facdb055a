import { describe, expect, it } from 'vitest';
import { ModuleIndex } from '../src/django/modules.js';
import { parseModule, tokenize } from '../src/django/python.js';
import { DjangoProject, samePath, type UrlRoute } from '../src/django/urls.js';

/** A project held in memory: the reader only ever asks for the file list and file texts. */
function project(files: Record<string, string>): DjangoProject {
  return new DjangoProject({ files: Object.keys(files), read: async (f) => files[f] ?? null });
}

const leaf = (routes: UrlRoute[]) => routes.filter((r) => r.include === null)
  .map((r) => `${r.path}${r.mounted ? '' : ' (unmounted)'} -> ${r.view ? `${r.view.name}@${r.view.file ?? '?'}:${r.view.line ?? '?'}` : '-'}`);

describe('the Python reader', () => {
  it('strings of every form, comments and brackets: a # in a string is text, a ) in a comment is not a bracket', () => {
    const src = [
      'x = ("a # not a comment"  # a comment with )',
      "     r'^api/(?P<id>\\d+)/$', b\"\\x00\", f'{y}',",
      '     """triple',
      '     ) still text""")',
      'y = 1',
    ].join('\n');
    const toks = tokenize(src);
    expect(toks.filter((t) => t.type === 'string').map((t) => t.value)).toEqual(['a # not a comment', '^api/(?P<id>\\d+)/$', '\\x00', '{y}', 'triple\n     ) still text']);
    // Two logical lines: the bracket spans four physical ones.
    expect(toks.filter((t) => t.type === 'newline')).toHaveLength(2);
    expect(toks.find((t) => t.value === 'y')!.line).toBe(4);
  });

  it('imports, definitions (with decorators and params) and top-level assignments', () => {
    const m = parseModule([
      'from .views import positions_view as pv, PositionHistoryView',
      'from ThorTrading import (',
      '    views,',
      '    models as m,',
      ')',
      'import a.b.c as abc, os',
      '',
      '@api_view(["GET"])',
      '@cache_page(5)',
      'def positions_view(request, *args):',
      '    def inner(x): pass',
      'class V(APIView, mixins.ListMixin):',
      '    pass',
      'urlpatterns = [path("a/", v)]',
      'urlpatterns += [path("b/", w)]',
      'urlpatterns.append(path("c/", z))',
    ].join('\n'));
    expect(m.imports.map((i) => `${i.local}<-${i.module}:${i.name ?? '(module)'}@${i.line}`)).toEqual([
      'pv<-.views:positions_view@0', 'PositionHistoryView<-.views:PositionHistoryView@0',
      'views<-ThorTrading:views@2', 'm<-ThorTrading:models@3', 'abc<-a.b.c:(module)@5', 'os<-os:(module)@5',
    ]);
    expect(m.defs.map((d) => `${d.kind} ${d.name} indent=${d.indent} from=${d.decoratorLine} ${d.params.join(',')}${d.bases.join(',')}`)).toEqual([
      'def positions_view indent=0 from=7 request,args', 'def inner indent=4 from=10 x', 'class V indent=0 from=11 APIView,mixins.ListMixin',
    ]);
    expect(m.assignments.map((a) => `${a.target} ${a.op}`)).toEqual(['urlpatterns =', 'urlpatterns +=', 'urlpatterns append']);
  });

  it('module names: packages, relative imports, a project below the root, folders that are no identifiers', () => {
    const idx = new ModuleIndex(['backend/ActAndPos/urls.py', 'backend/ActAndPos/views/__init__.py', 'backend/ActAndPos/views/positions.py', 'my-site/core/urls.py', 'core/urls.py']);
    expect(idx.resolve('ActAndPos.urls')).toBe('backend/ActAndPos/urls.py');
    expect(idx.resolve('.views', 'backend/ActAndPos/urls.py')).toBe('backend/ActAndPos/views/__init__.py');
    expect(idx.resolve('.positions', 'backend/ActAndPos/views/__init__.py')).toBe('backend/ActAndPos/views/positions.py');
    expect(idx.resolve('..urls', 'backend/ActAndPos/views/positions.py')).toBe('backend/ActAndPos/urls.py');
    expect(idx.resolve('core.urls', 'my-site/core/views.py')).toBe('my-site/core/urls.py');
    expect(idx.resolve('core.urls', 'core/x.py')).toBe('core/urls.py');
    expect(idx.resolve('nope.urls')).toBeNull();
  });

  it('paths compare by segment', () => {
    expect(samePath('/api/positions/', 'api/positions')).toBe(true);
    expect(samePath('^api/positions/?$', '/api/positions')).toBe(true);
    expect(samePath('/api/positions/history', '/api/positions')).toBe(false);
    expect(samePath('/v2/api/positions', '/api/positions')).toBe(false);
  });
});

describe('the URL resolver', () => {
  it('follows include() in every form from ROOT_URLCONF: string, tuple with app_name, namespace, module object, list variable, inline list', async () => {
    const p = project({
      'site/settings/base.py': 'ROOT_URLCONF = "site.urls"\n',
      'site/__init__.py': '',
      'site/urls.py': [
        'from django.urls import include, path, re_path',
        'from django.contrib import admin',
        'from reports import urls as report_urls',
        'from . import views',
        'extra = [path("health/", views.health)]',
        'urlpatterns = [',
        '    path("admin/", admin.site.urls),',
        '    path("api/actandpos/", include("ActAndPos.urls")),',
        '    re_path(r"^api/gm/", include(("GlobalMarkets.urls", "gm"), namespace="markets")),',
        '    path("reports/", include(report_urls)),',
        '    path("ops/", include(extra)),',
        '    path("inline/", include([path("x/", views.x), path("y/", login_required(views.Y.as_view()))])),',
        '    path("missing/", include("nowhere.urls")),',
        ']',
      ].join('\n'),
      'site/views.py': 'def health(request): pass\ndef x(request): pass\nclass Y: pass\n',
      'ActAndPos/urls.py': 'from .views import positions_view\napp_name = "actandpos"\nurlpatterns = [path("positions", positions_view, name="positions")]\n',
      'ActAndPos/views/__init__.py': 'from .positions import positions_view\n',
      'ActAndPos/views/positions.py': '\n\n@api_view(["GET"])\ndef positions_view(request):\n    pass\n',
      'GlobalMarkets/urls.py': 'from GlobalMarkets import views\nurlpatterns = [re_path(r"^market/status/$", views.MarketStatus.as_view())]\n',
      'GlobalMarkets/views.py': 'class MarketStatus(APIView):\n    pass\n',
      'reports/urls.py': 'from reports.views import daily as report_daily\nurlpatterns = [path("daily/", report_daily)]\n',
      'reports/views.py': 'def daily(request): pass\n',
      'orphan/urls.py': 'urlpatterns = [path("api/positions/", legacy_positions)]\ndef legacy_positions(request): pass\n',
    });
    const map = await p.urls();
    expect(map).toMatchObject({ root: 'site/urls.py', rootFrom: 'ROOT_URLCONF' });
    expect(leaf(map.routes)).toEqual([
      '/api/actandpos/positions -> positions_view@ActAndPos/views/positions.py:4',
      '/api/gm/market/status/ -> MarketStatus@GlobalMarkets/views.py:1',
      '/reports/daily/ -> daily@reports/views.py:1',
      '/ops/health/ -> health@site/views.py:1',
      '/inline/x/ -> x@site/views.py:2',
      '/inline/y/ -> Y@site/views.py:3',
      '/api/positions/ (unmounted) -> legacy_positions@orphan/urls.py:2',
    ]);
    const gm = map.routes.find((r) => r.path === '/api/gm/market/status/')!;
    expect(gm).toMatchObject({ namespace: 'markets', regex: true, file: 'GlobalMarkets/urls.py', line: 2 });
    expect(map.routes.find((r) => r.path === '/api/actandpos/positions')).toMatchObject({ namespace: 'actandpos', name: 'positions', line: 3, column: 16 });
    expect(map.unresolved.map((u) => u.what)).toEqual(['admin.site.urls: not followed', 'include("nowhere.urls"): no module nowhere.urls in the tree']);
  });

  it('without settings: the one urlconf nobody includes is the root; with two such, every path is below an unknown mount', async () => {
    const one = await project({
      'proj/urls.py': 'urlpatterns = [path("api/", include("app.urls"))]\n',
      'app/urls.py': 'from app import views\nurlpatterns = [path("positions/", views.positions)]\n',
    }).urls();
    expect(one.rootFrom).toBe('the only urlconf nobody includes');
    expect(leaf(one.routes)).toEqual(['/api/positions/ -> positions@?:?']);
    const two = await project({
      'a/urls.py': 'urlpatterns = [path("api/", include("app.urls"))]\n',
      'b/urls.py': 'urlpatterns = [path("v2/", include("app.urls"))]\n',
      'app/urls.py': 'urlpatterns = [path("positions/", positions)]\n',
    }).urls();
    expect(two.root).toBeNull();
    expect(leaf(two.routes).every((r) => r.includes('(unmounted)'))).toBe(true);
  });

  it('text that is not Python, or half a file, never throws', async () => {
    const map = await project({
      'urls.py': 'urlpatterns = [path("a/", include(\n',
      'x/urls.py': '\u0000\u0001 }}} ))) urlpatterns = = [ path(',
      'y/urls.py': 'urlpatterns = [path(ROUTE_CONSTANT, views.z), path("ok/", views.ok)]',
    }).urls();
    expect(leaf(map.routes).filter((r) => r.startsWith('/ok/'))).toHaveLength(1);
  });
});

describe('payload fields: what a REST view returns, in the shapes the code takes', () => {
  const files: Record<string, string> = {
    'app/serializers.py': [
      'from rest_framework import serializers',
      '',
      'class MetaSerializer(serializers.ModelSerializer):',
      '    class Meta:',
      '        model = Snap',
      '        fields = ("account_id", "cash")',
      '',
      'class DeclaredSerializer(serializers.Serializer):',
      '    account_id = serializers.CharField()',
      '    net_liq = serializers.DecimalField(max_digits=9, decimal_places=2)',
      '',
      '    def validate(self, data):',
      '        inner = 1',
      '        return data',
      '',
      'class AllSerializer(serializers.ModelSerializer):',
      '    class Meta:',
      '        model = Snap',
      '        fields = "__all__"',
    ].join('\n'),
    'app/payloads.py': [
      'from dataclasses import dataclass',
      '',
      '@dataclass',
      'class Bar:',
      '    symbol: str',
      '    close: float = 0.0',
      '    KIND: ClassVar[str] = "bar"',
    ].join('\n'),
    'app/views.py': [
      'from dataclasses import asdict',
      'from .serializers import MetaSerializer, DeclaredSerializer, AllSerializer',
      'from .payloads import Bar',
      '',
      'def meta(request):',
      '    return Response(MetaSerializer(x).data)',
      '',
      'def declared(request):',
      '    serializer = DeclaredSerializer(x)',
      '    return Response(serializer.data)',
      '',
      'def dataclass_view(request):',
      '    return JsonResponse(asdict(Bar(symbol="ES")))',
      '',
      'def everything(request):',
      '    return Response(AllSerializer(x).data)',
      '',
      'def opaque(request):',
      '    return Response(build_body(request))',
    ].join('\n'),
  };
  const fieldsOf = async (line: number) => {
    const { viewResponseFields } = await import('../src/django/channels.js');
    const r = await viewResponseFields(project(files), 'app/views.py', line);
    return r && `${r.fields.join(',')} @${r.file}:${r.line} (${r.via})`;
  };

  it("a serializer's Meta.fields, else its declared fields; a dataclass's annotated fields; anything else is not guessed", async () => {
    expect(await fieldsOf(5)).toBe('account_id,cash @app/serializers.py:3 (the serializer MetaSerializer)');
    expect(await fieldsOf(8)).toBe('account_id,net_liq @app/serializers.py:8 (the serializer DeclaredSerializer)');
    expect(await fieldsOf(12)).toBe('symbol,close @app/payloads.py:4 (the dataclass Bar)');
    expect(await fieldsOf(15)).toBeNull();
    expect(await fieldsOf(18)).toBeNull();
  });
});
