"""Headline figures in the index: named by the notebook, formatted by kind, escaped."""

from analysis_lib.run import index


def test_headline_uses_the_notebooks_list_and_formats():
    figs = {
        "gmv": 1234.5,
        "our_share": 0.3162,
        "slow_movers": 51.0,
        "roi": {"estimate": -0.28, "ci_low": -1, "ci_high": 1},
        "verdict": "don't ship",
        "other": 3.14159,
    }
    h = index._headline(figs, ["verdict", "our_share", "roi", "slow_movers", "gmv"])
    assert (
        h
        == "Verdict: don&#x27;t ship · Our share: 31.6% · ROI: −28.0% · Slow movers: 51 · GMV: 1,234"
    )
    assert "other" not in h


def test_headline_without_a_list_prefers_kpis():
    assert index._headline({"zzz": 1.5, "gmv": 10.0}).startswith("GMV: 10.00 · Zzz: 1.50")


def test_index_shows_data_quality_per_report(tmp_path):
    import json

    for name, dq in [
        ("clean", {"checks": 9, "warnings": 0, "rows": 0}),
        ("dirty", {"checks": 10, "warnings": 1, "rows": 157}),
    ]:
        d = tmp_path / "product_ops" / name
        d.mkdir(parents=True)
        (d / "results.json").write_text(
            json.dumps(
                {
                    "title": name,
                    "status": "ok",
                    "started_at": "2026-11-24T19:40:00+00:00",
                    "duration_s": 4.0,
                    "figures": {"data_quality": dq},
                }
            )
        )
    html = index.render(tmp_path)
    assert "9 checks passed" in html
    assert '<td class="warn">1 warning (157 rows)</td>' in html


def test_links_to_odd_file_names_are_encoded_and_their_text_escaped(tmp_path):
    """A params file may be named with '#', '%', spaces, '&' or any script: the link must still
    reach its report (before: '#' cut the link, '%' garbled it)."""
    import json
    from urllib.parse import unquote

    name = "week #1 & 50% <b>ü周报"
    d = tmp_path / "kpi_monitor" / name
    d.mkdir(parents=True)
    (d / "results.json").write_text(
        json.dumps({"title": name, "status": "ok", "started_at": "2026-01-05T06:30:00+00:00"})
    )
    html = index.render(tmp_path)
    href = "kpi_monitor/week%20%231%20%26%2050%25%20%3Cb%3E%C3%BC%E5%91%A8%E6%8A%A5/report.html"
    assert f'<a href="{href}">week #1 &amp; 50% &lt;b&gt;ü周报</a>' in html
    assert (tmp_path / unquote(href)).parent == d  # the link names the report's folder


def test_hidden_folders_are_not_reports(tmp_path):
    """Staging areas and logs live in hidden folders; the index never lists them."""
    import json

    for d in (tmp_path / ".logs" / "x", tmp_path / "kpi_monitor" / ".staging"):
        d.mkdir(parents=True)
        (d / "results.json").write_text(json.dumps({"title": "hidden", "status": "ok"}))
    assert index.collect(tmp_path) == []


def test_posterior_probability_is_a_percentage():
    """The intervention engine's posterior probability of a causal effect reads as a percentage
    under its own name, not as '1.00'."""
    h = index._headline({"posterior_prob_causal_effect": 0.9988}, ["posterior_prob_causal_effect"])
    assert h == "Posterior probability of a causal effect: 99.9%"


def test_headline_prints_the_cards_text_not_a_second_formatting():
    """The index shows a headline figure exactly as the report's card shows it (label and text
    recorded by the report), e.g. ``819`` where formatting the raw figure again gave ``819.04``."""
    figs = {"aov": 819.04, "bottleneck_step": "purchase"}
    shown = {
        "aov": {"label": "客单价", "text": "¥819"},
        "bottleneck_step": {"label": "瓶颈环节", "text": "结算 → 支付"},
    }
    line = index._headline(figs, ["aov", "bottleneck_step"], shown)
    assert line == "客单价: ¥819 · 瓶颈环节: 结算 → 支付"
    assert "819.04" not in line
    # a results.json from before cards were recorded still gets a headline
    assert "819" in index._headline(figs, ["aov"], None)


def test_cards_with_keys_are_recorded_for_the_index():
    from analysis_lib.present import blocks

    html = blocks.summary_block(
        [blocks.Card("AOV", "¥819", key="aov"), blocks.Card("Note", "x")], ["f"]
    )
    assert html.shown == {"aov": {"label": "AOV", "text": "¥819"}}


def test_alerts_not_sent_says_whether_delivery_was_set():
    """An alert not sent because the run has no delivery reads 'no delivery'; one not sent because
    its delivery is set but found no destination (its variable unset) says so, as the report and
    results.json do: the index must not tell the on-call person that nothing was configured."""
    recs = [{"status": "not_sent"}, {"status": "delivered"}]
    none = index._alerts({"alerts": {"records": recs, "delivery": None}})
    assert "1 no delivery" in none and "1 sent" in none
    unset = {"set": True, "ready": False, "missing": [{"kind": "env", "name": "X_URLS"}]}
    got = index._alerts({"alerts": {"records": recs, "delivery": unset}})
    assert "not sent: no destination" in got and "no delivery" not in got
