import pytest

from latte_loadtests.promscrape import parse_scrape, scrape, server_latency

HISTOGRAM = """# HELP latte_gateway_request_duration_seconds Time to answer.
# TYPE latte_gateway_request_duration_seconds histogram
latte_gateway_request_duration_seconds_bucket{{model="m",version="1",route="stable",le="0.001"}} {a}
latte_gateway_request_duration_seconds_bucket{{model="m",version="1",route="stable",le="0.002"}} {b}
latte_gateway_request_duration_seconds_bucket{{model="m",version="1",route="stable",le="+Inf"}} {c}
latte_gateway_request_duration_seconds_sum{{model="m",version="1",route="stable"}} {s}
latte_gateway_request_duration_seconds_count{{model="m",version="1",route="stable"}} {c}
"""


def test_histogram_quantiles_of_the_requests_between_two_scrapes():
    before = parse_scrape(HISTOGRAM.format(a=10, b=10, c=10, s=0.005))
    # 100 more requests: 50 under 1 ms, 50 between 1 and 2 ms, mean 1.2 ms
    after = parse_scrape(HISTOGRAM.format(a=60, b=110, c=110, s=0.125))
    latency = server_latency(before, after, ["m"])
    assert latency is not None
    assert latency.source == "gateway histogram"
    assert latency.requests == 100
    assert latency.mean_ms == pytest.approx(1.2)
    assert latency.p50_ms == pytest.approx(1.0)
    assert latency.p95_ms == pytest.approx(1.9)


def test_beyond_the_last_bucket_reports_its_lower_bound():
    before = parse_scrape(HISTOGRAM.format(a=0, b=0, c=0, s=0))
    after = parse_scrape(HISTOGRAM.format(a=0, b=0, c=10, s=1))
    latency = server_latency(before, after, ["m"])
    assert latency is not None
    assert latency.p99_ms == pytest.approx(2.0)


TRITON = """# TYPE nv_inference_request_success counter
nv_inference_request_success{{model="m",version="1"}} {n}
# TYPE nv_inference_request_duration_us counter
nv_inference_request_duration_us{{model="m",version="1"}} {us}
# TYPE nv_gpu_utilization gauge
nv_gpu_utilization{{gpu_uuid="GPU-1"}} 0.5
"""


def test_triton_counters_give_a_mean_and_reveal_a_gpu():
    before = parse_scrape(TRITON.format(n=5, us=3000))
    after = parse_scrape(TRITON.format(n=15, us=9000))
    latency = server_latency(before, after, ["m"])
    assert after.gpu
    assert after.gpus == ("GPU-1",)
    assert latency is not None
    assert latency.source == "triton counters"
    assert latency.mean_ms == pytest.approx(0.6)
    assert latency.p95_ms is None


def test_no_requests_between_scrapes_is_no_latency():
    same = parse_scrape(TRITON.format(n=5, us=3000))
    assert server_latency(same, same, ["m"]) is None
    assert server_latency(same, same, ["other"]) is None


def test_unreachable_metrics_page_is_none_not_an_error():
    from latte_loadtests.stack import free_port

    assert scrape(f"http://127.0.0.1:{free_port()}/metrics", timeout=1) is None


def test_a_remote_triton_names_its_gpus_by_uuid():
    import http.server
    import threading

    from latte_loadtests.bench import _remote_device

    body = TRITON.format(n=1, us=1).encode()

    class Metrics(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Metrics)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        device = _remote_device(f"http://127.0.0.1:{server.server_address[1]}/metrics")
    finally:
        server.shutdown()
        server.server_close()
    assert device.key() == "gpu:1x GPU GPU-1"
