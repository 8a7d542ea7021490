"""One server per data directory and per port. A second `depesche serve`
on the same data directory, or on a port another server holds, used to
start silently (SO_REUSEPORT), and the kernel split readers between two
processes with separate live hubs. Now it is refused with a message that
says why, and the first server keeps every request; short commands
(tokens) still work beside a running server, `migrate` and `demo` do not."""

from __future__ import annotations

from account_helpers import free_port
from conftest import ServerProcess, create_token, http_request, run_cli


def wait_refused(proc: ServerProcess) -> str:
    code = proc.wait_exit(30)
    assert code != 0, f"a second server started:\n{proc.output()}"
    return proc.all_text()


def test_a_second_server_on_the_same_data_directory_is_refused(make_server):
    first = make_server()
    second = ServerProcess(first.data_dir, {"DEPESCHE_SERVER_LISTEN": "127.0.0.1:0"}).start()
    text = wait_refused(second)
    assert "in use by depesche serve" in text and "pid" in text, text
    for command in (["migrate"], ["demo"]):
        proc = run_cli(command, first.data_dir)
        assert proc.returncode != 0, f"{command} ran beside a server"
        assert "in use by depesche serve" in proc.stderr, proc.stderr
    # Commands a running server tolerates still work.
    token = create_token(first.data_dir, "beside-the-server", "editor")
    r = http_request(first.address, "POST", "/api/v1/tickers/en/entries", token=token,
                     json_body={"body": "still one server"})
    assert r.status == 201, r
    r = http_request(first.address, "GET", "/readyz")
    assert r.status == 200, r


def test_a_second_server_on_a_taken_port_is_refused(make_server, tmp_path):
    port = free_port()
    first = make_server({"DEPESCHE_SERVER_LISTEN": f"127.0.0.1:{port}"})
    other = tmp_path / "other"
    other.mkdir()
    second = ServerProcess(other, {"DEPESCHE_SERVER_LISTEN": f"127.0.0.1:{port}"}).start()
    text = wait_refused(second)
    assert f"cannot listen on 127.0.0.1:{port}" in text, text
    # Every request still reaches the first server alone.
    for _ in range(20):
        assert http_request(first.address, "GET", "/healthz").status == 200


def test_the_lock_is_free_again_after_a_clean_stop(make_server):
    first = make_server()
    assert first.stop() == 0
    again = ServerProcess(first.data_dir).start()
    again.wait_ready()
    assert again.stop() == 0
