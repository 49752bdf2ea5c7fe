/* 事件分析 on the incident page: fetches /api/incidents/{id}/analysis and draws its charts
   with the vendored ECharts (served by the service: the security policy loads nothing from
   another host and runs no inline script). Times are Beijing time whatever the browser's
   zone: each timestamp is shifted by +8 h and the charts run in UTC (China has no daylight
   saving). Every string from a feed goes through encodeHTML before it reaches a tooltip,
   which ECharts writes as HTML; labels are drawn on the canvas. */
(function () {
  'use strict';
  const section = document.getElementById('analysis');
  if (!section || typeof echarts === 'undefined') {
    return;
  }
  const BJ = 8 * 3600 * 1000;
  const HOUR = 3600 * 1000;
  const esc = echarts.format.encodeHTML;
  const t = (iso) => Date.parse(iso) + BJ;
  const fmt = (ms) => echarts.time.format(ms, '{MM}-{dd} {HH}:{mm}', true);
  const narrow = () => window.innerWidth < 640;
  const MUTED = '#6b7785';
  const MEDIA_COLOURS = {
    central: '#1e5aa8', provincial: '#00897b', local: '#43a047', government: '#6d4c41',
    social: '#e65100', forum: '#8e24aa', hotline: '#00acc1', unknown: '#90a4ae',
    intake: '#37474f'
  };
  const MARK = { opened: '#1e5aa8', milestone: '#2e7d32', deadline: '#c62828' };
  const EMPTY = {
    text: '暂无数据', left: 'center', top: 'middle',
    textStyle: { color: MUTED, fontSize: 14, fontWeight: 'normal' }
  };
  const FONT = '"Noto Sans CJK SC", "Source Han Sans SC", "PingFang SC", "Microsoft YaHei", sans-serif';
  const charts = [];

  function chart(name) {
    const el = section.querySelector('[data-chart="' + name + '"]');
    const made = echarts.init(el, null, { renderer: 'canvas', locale: 'ZH' });
    charts.push(made);
    return made;
  }

  function empty(made) {
    made.setOption({ title: EMPTY, series: [] });
  }

  function base() {
    return { useUTC: true, textStyle: { fontFamily: FONT }, animation: false };
  }

  // --- 舆情走势: items per hour (originals and reposts stacked), negative share, and the
  // opening, milestones and deadlines as vertical lines on the same axis
  function trend(a) {
    const made = chart('trend');
    if (!a.hourly.length) {
      empty(made);
      return;
    }
    const mid = (h) => t(h.hour) + HOUR / 2;
    const lines = [{ xAxis: t(a.opened.at), name: a.opened.label, colour: MARK.opened }];
    a.milestones.forEach((m) => lines.push({ xAxis: t(m.at), name: m.label, colour: MARK.milestone }));
    a.deadlines.filter((d) => d.status !== 'cancelled').forEach((d) => lines.push({
      xAxis: t(d.due), name: d.label + ' 截止·' + d.state, colour: MARK.deadline, dashed: true
    }));
    const first = t(a.hourly[0].hour);
    const last = t(a.hourly[a.hourly.length - 1].hour) + HOUR;
    const axisMax = Math.max(last, ...lines.map((l) => l.xAxis)) + HOUR / 2;
    const axisMin = Math.min(first, ...lines.map((l) => l.xAxis)) - HOUR / 2;
    // the first view ends after the last item or event that has happened; a deadline still
    // ahead (or met long before it was due) is reached by the slider
    const happened = [last, t(a.opened.at), ...a.milestones.map((m) => t(m.at)),
      ...a.deadlines.filter((d) => d.status === 'missed').map((d) => t(d.due)),
      ...a.deadlines.filter((d) => d.met_at).map((d) => t(d.met_at))];
    const focus = Math.min(axisMax, Math.max(...happened) + HOUR);
    const zoom = { xAxisIndex: 0, startValue: axisMin, endValue: focus, filterMode: 'none' };
    made.setOption(Object.assign(base(), {
      color: [a.colour, a.colour, '#6a1b9a'],
      legend: { top: 0, data: ['原创', '转载', '负面占比'] },
      grid: { left: 8, right: 8, top: 36, bottom: 56, containLabel: true },
      tooltip: {
        trigger: 'axis', axisPointer: { type: 'shadow' }, confine: true,
        formatter: (params) => {
          const h = a.hourly[params[0].dataIndex];
          const start = t(h.hour);
          const share = h.negative_share === null ? '不足' + a.min_items + '条，不计算'
            : Math.round(h.negative_share * 100) + '%（按' + h.basis + '条、' + h.span + '小时计算）';
          return esc(fmt(start) + '–' + fmt(start + HOUR).slice(6)) + '<br>信息 ' + h.items
            + ' 条（原创 ' + h.originals + '，转载 ' + h.reposts + '）<br>负面占比 ' + esc(share);
        }
      },
      xAxis: {
        type: 'time', min: axisMin, max: axisMax,
        axisLabel: { hideOverlap: true, formatter: { hour: '{HH}:{mm}', day: '{MM}-{dd}', month: '{MM}-{dd}' } }
      },
      yAxis: [
        { type: 'value', name: '条', minInterval: 1 },
        {
          type: 'value', min: 0, max: 100, splitLine: { show: false },
          axisLabel: { formatter: '{value}%' }
        }
      ],
      dataZoom: [Object.assign({ type: 'inside' }, zoom),
        Object.assign({ type: 'slider', height: 18, bottom: 6, labelFormatter: (v) => fmt(v) }, zoom)],
      series: [
        {
          name: '原创', type: 'bar', stack: 'items', barMaxWidth: 28,
          data: a.hourly.map((h) => [mid(h), h.originals]),
          markLine: {
            symbol: ['none', 'none'], animation: false,
            label: { show: !narrow(), position: 'insideEndTop', fontSize: 11, color: '#333' },
            tooltip: { formatter: (p) => esc(p.name + ' ' + fmt(p.value)) },
            data: lines.map((l) => ({
              xAxis: l.xAxis, name: l.name,
              lineStyle: { color: l.colour, width: 1.6, type: l.dashed ? 'dashed' : 'solid' },
              label: { formatter: () => l.name }
            }))
          }
        },
        {
          name: '转载', type: 'bar', stack: 'items', barMaxWidth: 28,
          itemStyle: { opacity: 0.45 }, data: a.hourly.map((h) => [mid(h), h.reposts])
        },
        {
          name: '负面占比', type: 'line', yAxisIndex: 1, connectNulls: true, symbolSize: 5,
          data: a.hourly.map((h) => [mid(h), h.negative_share === null ? '-'
            : Math.round(h.negative_share * 1000) / 10])
        }
      ]
    }));
  }

  // --- 传播路径: each source at the time it first carried the incident, first at the top,
  // sized by its weight; arrows from the source it reposted
  function spread(a) {
    const rows = a.spread.sources;
    const el = section.querySelector('[data-chart="spread"]');
    el.style.height = Math.max(260, 26 * rows.length + 90) + 'px';
    const made = chart('spread');
    if (!rows.length) {
      empty(made);
      return;
    }
    const heaviest = Math.max(1, ...rows.map((r) => r.weight));
    const drawn = new Set(rows.map((r) => r.source));
    const nodes = rows.map((r, i) => ({
      name: r.source, value: [t(r.at), i], row: r,
      symbolSize: 9 + 15 * Math.sqrt(r.weight / heaviest),
      itemStyle: { color: i === 0 ? a.colour : MEDIA_COLOURS[r.media] || MUTED },
      label: { show: i === 0, position: 'right', formatter: () => '首发' }
    }));
    const links = rows.filter((r) => r.from && r.from !== r.source && drawn.has(r.from))
      .map((r) => ({ source: r.from, target: r.source }));
    made.setOption(Object.assign(base(), {
      grid: { left: 8, right: 24, top: 16, bottom: 28, containLabel: true },
      tooltip: {
        confine: true,
        formatter: (p) => {
          if (p.dataType === 'edge') {
            return esc(p.data.target + ' 转载自 ' + p.data.source);
          }
          const r = p.data.row;
          return esc(r.name + '（' + r.media_name + '，权重' + r.weight + '）') + '<br>首次 '
            + esc(fmt(t(r.at))) + '，共 ' + r.items + ' 条<br>' + esc(r.post.title);
        }
      },
      xAxis: {
        type: 'time', scale: true, splitLine: { show: true, lineStyle: { color: '#eef2f7' } },
        axisLabel: { hideOverlap: true, formatter: { hour: '{HH}:{mm}', day: '{MM}-{dd}', month: '{MM}-{dd}' } }
      },
      yAxis: {
        type: 'category', inverse: true, data: rows.map((r) => r.name),
        axisLabel: { width: narrow() ? 84 : 150, overflow: 'truncate', fontSize: 11 },
        axisTick: { show: false }
      },
      series: [{
        type: 'graph', coordinateSystem: 'cartesian2d', data: nodes, links: links,
        edgeSymbol: ['none', 'arrow'], edgeSymbolSize: 7,
        lineStyle: { color: '#90a4ae', width: 1.2, curveness: 0.25, opacity: 0.9 },
        emphasis: { focus: 'adjacency' }
      }]
    }));
  }

  // --- 热词
  function words(a) {
    const made = chart('words');
    if (!a.words.length) {
      empty(made);
      return;
    }
    const palette = [a.colour, '#1e5aa8', '#2e7d32', '#6a1b9a', '#37474f', '#00897b'];
    made.setOption(Object.assign(base(), {
      tooltip: { formatter: (p) => esc(p.name) + '：' + p.value + ' 条' },
      series: [{
        type: 'wordCloud', shape: 'circle', left: 'center', top: 'center',
        width: '96%', height: '92%', gridSize: narrow() ? 4 : 6,
        sizeRange: narrow() ? [11, 30] : [13, 46], rotationRange: [0, 0],
        drawOutOfBound: false, layoutAnimation: false,
        textStyle: { fontFamily: FONT, color: (p) => palette[p.dataIndex % palette.length] },
        data: a.words.map((w) => ({ name: w.word, value: w.count }))
      }]
    }));
  }

  // --- 媒体类型
  function media(a) {
    const made = chart('media');
    if (!a.media.length) {
      empty(made);
      return;
    }
    made.setOption(Object.assign(base(), {
      tooltip: { trigger: 'item', formatter: (p) => esc(p.name) + '：' + p.value + ' 条（' + p.percent + '%）' },
      legend: { type: 'scroll', bottom: 0 },
      series: [{
        type: 'pie', radius: ['38%', '66%'], center: ['50%', '45%'],
        label: { formatter: (p) => p.name + '\n' + p.value + '条', fontSize: 11 },
        data: a.media.map((m) => ({
          name: m.name, value: m.items, itemStyle: { color: MEDIA_COLOURS[m.key] || MUTED }
        }))
      }]
    }));
  }

  // --- 地区分布
  function regions(a) {
    const made = chart('regions');
    if (!a.regions.length) {
      empty(made);
      return;
    }
    made.setOption(Object.assign(base(), {
      tooltip: { trigger: 'axis', axisPointer: { type: 'shadow' } },
      grid: { left: 8, right: 40, top: 12, bottom: 8, containLabel: true },
      xAxis: { type: 'value', minInterval: 1, name: '条' },
      yAxis: { type: 'category', inverse: true, data: a.regions.map((r) => r.name) },
      series: [{
        type: 'bar', barMaxWidth: 22, itemStyle: { color: a.colour },
        label: { show: true, position: 'right' }, data: a.regions.map((r) => r.items)
      }]
    }));
  }

  function failed() {
    section.querySelectorAll('[data-chart]').forEach((el) => {
      el.textContent = '无法加载图表数据，请刷新页面；下方文字列表不受影响。';
      el.classList.add('failed');
    });
  }

  function resize() {
    charts.forEach((made) => made.resize());
  }

  fetch(section.dataset.api, { credentials: 'same-origin', headers: { Accept: 'application/json' } })
    .then((reply) => {
      if (!reply.ok) {
        throw new Error('analysis: HTTP ' + reply.status);
      }
      return reply.json();
    })
    .then((a) => {
      [trend, spread, words, media, regions].forEach((draw) => draw(a));
      section.dataset.drawn = 'yes';
    })
    .catch((error) => {
      failed();
      console.error(error);
    });
  window.addEventListener('resize', resize);
  // paper is narrower than the screen: fit the charts to it, and back
  window.addEventListener('beforeprint', resize);
  window.addEventListener('afterprint', resize);
}());
