/* 舆情态势: draws the page's charts with the vendored Apache ECharts (and its word-cloud
   extension) from /api/situation, asked with the page's own query (data-api on #situation).
   The numbers and tables are on the page already; this only draws. Colours come from the
   stylesheet's variables, so the charts speak the same visual language as the rest. A chart
   with nothing to show says 暂无数据 instead of staying blank. Served from /static: the
   security policy runs no inline script and nothing from another host. */
(function () {
  'use strict';
  var root = document.getElementById('situation');
  if (!root || typeof echarts === 'undefined') { return; }
  var css = getComputedStyle(document.documentElement);
  function v(name, fallback) { return (css.getPropertyValue(name) || '').trim() || fallback; }
  var C = {
    ink: v('--ink', '#1f2933'), muted: v('--muted', '#6b7785'), line: v('--line', '#dde3ea'),
    accent: v('--accent', '#1e5aa8'), bad: v('--bad', '#c62828'), ok: v('--ok', '#2e7d32'),
    I: v('--level-I', '#c62828'), II: v('--level-II', '#ef6c00'),
    III: v('--level-III', '#f9a825'), IV: v('--level-IV', '#1e63c4')
  };
  var PALETTE = [C.accent, C.II, C.ok, C.I, '#6a4c93', C.III, '#00838f', '#8d6e63', C.IV,
                 '#5c6bc0', '#ad1457', '#558b2f'];
  var FONT = getComputedStyle(document.body).fontFamily;
  var charts = [];

  function narrow(el) { return el.clientWidth < 520; }

  function base(el) {
    return {
      color: PALETTE, animationDuration: 400,
      textStyle: { fontFamily: FONT, color: C.ink, fontSize: narrow(el) ? 11 : 12 },
      tooltip: { confine: true }
    };
  }

  function empty(option) {
    // the series stay (empty), and the chart says so in its middle
    option.title = { text: '暂无数据', left: 'center', top: 'middle',
                     textStyle: { color: C.muted, fontSize: 14, fontWeight: 'normal' } };
    option.xAxis = option.xAxis && { show: false };
    option.yAxis = option.yAxis && { show: false };
    option.legend = { show: false };
    return option;
  }

  function sum(list, key) {
    return list.reduce(function (a, x) { return a + (key ? x[key] : x); }, 0);
  }

  function draw(id, make) {
    var el = document.getElementById(id);
    if (!el) { return; }
    var chart = echarts.init(el, null, { renderer: 'canvas' });
    chart.setOption(make(el));
    charts.push(chart);
  }

  function trend(t) {
    return function (el) {
      var o = base(el);
      o.tooltip.trigger = 'axis';
      o.legend = { top: 0, data: ['全部信息', '健康相关'] };
      o.grid = { left: 8, right: 16, top: 36, bottom: 8, containLabel: true };
      o.xAxis = { type: 'category', data: t.labels, boundaryGap: false,
                  axisLine: { lineStyle: { color: C.line } }, axisLabel: { color: C.muted } };
      o.yAxis = { type: 'value', minInterval: 1, splitLine: { lineStyle: { color: C.line } },
                  axisLabel: { color: C.muted } };
      o.series = [
        { name: '全部信息', type: 'line', data: t.all, smooth: true, symbolSize: 4,
          itemStyle: { color: C.accent }, lineStyle: { width: 2 } },
        { name: '健康相关', type: 'line', data: t.health, smooth: true, symbolSize: 4,
          itemStyle: { color: C.bad }, lineStyle: { width: 2 }, areaStyle: { opacity: 0.12 } }
      ];
      return sum(t.all) ? o : empty(o);
    };
  }

  function pie(data, colours) {
    return function (el) {
      var o = base(el), small = narrow(el);
      o.tooltip.trigger = 'item';
      o.tooltip.formatter = '{b}：{c}条（{d}%）';
      o.legend = { bottom: 0, type: 'scroll', icon: 'circle' };
      o.series = [{
        type: 'pie', radius: ['42%', '68%'], center: ['50%', small ? '45%' : '47%'],
        avoidLabelOverlap: true, data: data.filter(function (d) { return d.value > 0; })
          .map(function (d, i) {
            return { name: d.name, value: d.value,
                     itemStyle: colours ? { color: colours[d.key] } : { color: PALETTE[i % PALETTE.length] } };
          }),
        label: { formatter: small ? '{d}%' : '{b}\n{d}%', color: C.ink },
        labelLine: { length: 8, length2: 8 }
      }];
      return sum(data, 'value') ? o : empty(o);
    };
  }

  function bars(data, colour, nameKey) {
    return function (el) {
      var o = base(el), rows = data.slice().sort(function (a, b) { return b.value - a.value; });
      o.tooltip.trigger = 'axis';
      o.tooltip.axisPointer = { type: 'shadow' };
      o.grid = { left: 8, right: 40, top: 8, bottom: 8, containLabel: true };
      o.xAxis = { type: 'value', minInterval: 1, splitLine: { lineStyle: { color: C.line } },
                  axisLabel: { color: C.muted } };
      o.yAxis = { type: 'category', inverse: true, axisTick: { show: false },
                  axisLine: { lineStyle: { color: C.line } },
                  data: rows.map(function (d) { return d[nameKey || 'name']; }),
                  axisLabel: { color: C.ink, width: narrow(el) ? 112 : 150, overflow: 'truncate' } };
      o.series = [{ type: 'bar', data: rows.map(function (d) { return d.value; }),
                    barMaxWidth: 22, itemStyle: { color: colour, borderRadius: [0, 3, 3, 0] },
                    label: { show: true, position: 'right', color: C.muted } }];
      return sum(data, 'value') ? o : empty(o);
    };
  }

  function words(list) {
    return function (el) {
      var o = base(el), small = narrow(el);
      o.tooltip.formatter = function (p) { return echarts.format.encodeHTML(p.name) + '：' + p.value + '条'; };
      o.series = [{
        type: 'wordCloud', shape: small ? 'circle' : 'square', left: 'center', top: 'center',
        width: '98%', height: '96%', sizeRange: small ? [13, 36] : [18, 64],
        rotationRange: [0, 0], gridSize: small ? 4 : 6, drawOutOfBound: false,
        shrinkToFit: true, layoutAnimation: false,
        textStyle: { fontFamily: FONT, fontWeight: 600,
                     color: function (p) { return PALETTE[p.dataIndex % PALETTE.length]; } },
        emphasis: { textStyle: { color: C.bad } },
        data: list.map(function (w) { return { name: w.word, value: w.count }; })
      }];
      return list.length ? o : empty(o);
    };
  }

  function failed() {
    root.querySelectorAll('[data-chart]').forEach(function (el) {
      var p = document.createElement('p');
      p.className = 'muted';
      p.textContent = '图表数据加载失败，请刷新页面。';
      el.replaceChildren(p);
      el.style.height = 'auto';
    });
  }

  fetch(root.dataset.api, { credentials: 'same-origin', headers: { Accept: 'application/json' } })
    .then(function (r) { if (!r.ok) { throw new Error('HTTP ' + r.status); } return r.json(); })
    .then(function (d) {
      draw('chart-trend', trend(d.trend));
      draw('chart-sentiment', pie(d.sentiment, { negative: C.bad, neutral: '#90a4ae', positive: C.ok }));
      draw('chart-topics', bars(d.topics, C.accent));
      draw('chart-media', bars(d.media, '#00838f'));
      draw('chart-regions', bars(d.regions, C.II, 'label'));
      draw('chart-words', words(d.hot_words));
      root.dataset.drawn = 'yes';  // for people and tests: every chart has its data
    })
    .catch(failed);

  // the charts follow their boxes: window resizes, the grid reflowing, a phone turning
  var pending = null;
  function resize() {
    if (pending) { return; }
    pending = requestAnimationFrame(function () {
      pending = null;
      charts.forEach(function (c) { c.resize(); });
    });
  }
  window.addEventListener('resize', resize);
  if (typeof ResizeObserver !== 'undefined') {
    var watcher = new ResizeObserver(resize);
    root.querySelectorAll('[data-chart]').forEach(function (el) { watcher.observe(el); });
  }
})();
