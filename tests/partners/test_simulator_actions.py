"""A simulator's buttons pressed from another process: ``POST /actions/NAME`` with JSON (what
``bench/soak.py`` uses to play the one-stop's clerks)."""

from __future__ import annotations

import requests


def post(stack, action: str, body: object) -> requests.Response:
    return requests.post(f"{stack.onestop_url}/actions/{action}", json=body, timeout=60)


def test_send_and_take_back_through_the_one_stop_simulators_actions(stack):
    sent = post(stack, "send", {"code": "HS-ACTION-1", "onestop_number": "9000001", "file_padding": 1000})
    assert sent.status_code == 200, sent.text
    answer = sent.json()
    assert (answer["outcome"], answer["state"], answer["error"]) == ("delivered", "accepted", None)
    assert stack.exchange(answer["message_id"]).dossierCode == "HS-ACTION-1"
    taken = post(stack, "take_back", {"code": "HS-ACTION-1"})
    assert taken.status_code == 200 and taken.json()["outcome"] == "delivered", taken.text

    assert post(stack, "take_back", {"code": "HS-ACTION-1"}).status_code == 409  # nothing left to take back
    assert post(stack, "nonsense", {}).status_code == 409
    assert post(stack, "receive", {"code": "HS-ACTION-3", "onestop_number": "9000003"}).json() == {
        "code": "HS-ACTION-3"
    }
    missing = post(stack, "send", {"code": "HS-ACTION-2"})
    assert missing.status_code == 400 and "onestop_number" in missing.json()["error"]
    assert post(stack, "send", [1, 2]).status_code == 400
