"""channels.yaml: environment expansion, validation, and rules routed to known channels."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from monitor.alerts.email import EmailOptions
from monitor.alerts.webhook import WebhookOptions
from monitor.config import load_config
from monitor.errors import ConfigError
from tests.conftest import CONFIG
from tests.inprocess import run_monitor


def config_dir(tmp_path: Path, channels: str, rules: str | None = None) -> Path:
    shutil.copy(CONFIG / "sources.yaml", tmp_path / "sources.yaml")
    (tmp_path / "rules.yaml").write_text(
        rules or "rules:\n  - {id: r, name: R, query: biegun, notify: [mail, hook]}\n"
    )
    (tmp_path / "channels.yaml").write_text(channels)
    return tmp_path


GOOD = """channels:
  mail: {type: email, to: [a@example.org], digest: 15m}
  hook: {type: webhook, url: '${HOOK_URL}', format: slack, headers: {X-Team: desk}}
"""


def test_shipped_channels_load(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # no .env
    monkeypatch.delenv("POLICY_EMAIL_TO", raising=False)
    monkeypatch.delenv("OPS_WEBHOOK_URL", raising=False)
    assert set(load_config(CONFIG, examples=True).channels) == {"policy-email", "ops-webhook"}
    unset = load_config(CONFIG)  # optional channels are off until their variables are set
    assert unset.channels == {}
    assert unset.off == {"policy-email": ["POLICY_EMAIL_TO"], "ops-webhook": ["OPS_WEBHOOK_URL"]}
    monkeypatch.setenv("POLICY_EMAIL_TO", "desk@agency.example")
    assert set(load_config(CONFIG).channels) == {"policy-email"}


def test_environment_variables_are_expanded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOOK_URL", "https://hooks.example.org/T1")
    channels = load_config(config_dir(tmp_path, GOOD)).channels
    hook, mail = channels["hook"], channels["mail"]
    assert isinstance(hook, WebhookOptions) and hook.url == "https://hooks.example.org/T1"
    assert isinstance(mail, EmailOptions) and mail.digest == "15m"


def test_a_missing_variable_is_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HOOK_URL", raising=False)
    with pytest.raises(ConfigError) as info:
        load_config(config_dir(tmp_path, GOOD))
    assert info.value.messages == [
        f"{tmp_path}/channels.yaml:3: channel 'hook': environment variable HOOK_URL is not set"
    ]


def test_defaults_stand_in_for_missing_variables(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("HOOK_URL", raising=False)
    text = GOOD.replace("${HOOK_URL}", "${HOOK_URL:-http://127.0.0.1:9/x}")
    hook = load_config(config_dir(tmp_path, text)).channels["hook"]
    assert isinstance(hook, WebhookOptions) and hook.url == "http://127.0.0.1:9/x"


@pytest.mark.parametrize(
    ("channels", "expected"),
    [
        (
            "channels:\n  mail: {type: emial, to: [a@example.org]}\n",
            "channel 'mail': unknown type 'emial' (did you mean 'email'?)",
        ),
        (
            "channels:\n  mail: {type: email, to: [not-an-address]}\n",
            "channel 'mail': 'to': 'not-an-address' is not an email address",
        ),
        (
            "channels:\n  mail: {type: email, to: [a@example.org], digest: soon}\n",
            "channel 'mail': 'digest': 'soon' is not an interval; use 10s, 10m, 1h or 1d",
        ),
        (
            "channels:\n  hook: {type: webhook, url: 'ftp://x', format: json}\n",
            "channel 'hook': 'url': 'ftp://x' is not an http(s) URL",
        ),
    ],
)
def test_invalid_channels(tmp_path: Path, channels: str, expected: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(config_dir(tmp_path, channels, "rules: []\n"))
    assert [m.split(": ", 1)[1] for m in info.value.messages] == [expected]


def test_rules_must_route_to_known_channels(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOOK_URL", "https://hooks.example.org/T1")
    rules = "rules:\n  - {id: r, name: R, query: biegun, notify: [mial]}\n"
    with pytest.raises(ConfigError) as info:
        load_config(config_dir(tmp_path, GOOD, rules))
    assert info.value.messages == [
        f"{tmp_path}/rules.yaml:2: rule 'r': unknown channel 'mial' (did you mean 'mail'?)"
    ]


def test_a_missing_channels_file_is_said_once(tmp_path: Path) -> None:
    rules = "".join(
        f"  - {{id: r{i}, name: R, query: biegun, notify: [mail, hook]}}\n" for i in range(3)
    )
    folder = config_dir(tmp_path, "", "rules:\n" + rules)
    (folder / "channels.yaml").unlink()
    with pytest.raises(ConfigError) as info:
        load_config(folder)
    assert info.value.messages == [
        f"{folder}/channels.yaml: file not found, but rules in rules.yaml notify hook, mail: "
        "create it (the shipped config/channels.yaml is an example)"
    ]


def test_a_typo_of_an_optional_channel_that_is_off_gets_a_did_you_mean(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # no .env
    monkeypatch.delenv("HOOK_URL", raising=False)
    channels = GOOD.replace("format: slack,", "format: slack, optional: true,")
    rules = "rules:\n  - {id: r, name: R, query: biegun, notify: [hok]}\n"
    with pytest.raises(ConfigError) as info:
        load_config(config_dir(tmp_path, channels, rules))
    assert info.value.messages == [
        f"{tmp_path}/rules.yaml:2: rule 'r': unknown channel 'hok' (did you mean 'hook'?)"
    ]


SIGNED = """channels:
  hook: {type: webhook, url: 'http://127.0.0.1:9/x',
         secret_env: DESK_HOOK_SECRET}
"""


def test_a_webhook_secret_variable_that_is_not_set_is_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Unsigned delivery would let receivers that check signatures drop every alert, and
    # those that do not would never know: refuse the config instead.
    monkeypatch.delenv("DESK_HOOK_SECRET", raising=False)
    rules = "rules:\n  - {id: r, name: R, query: biegun, notify: [hook]}\n"
    with pytest.raises(ConfigError) as info:
        load_config(config_dir(tmp_path, SIGNED, rules))
    assert info.value.messages == [
        f"{tmp_path}/channels.yaml:3: channel 'hook': 'secret_env': environment variable "
        "DESK_HOOK_SECRET is not set (it holds this channel's signing secret)"
    ]
    monkeypatch.setenv("DESK_HOOK_SECRET", "")
    with pytest.raises(ConfigError) as info:
        load_config(config_dir(tmp_path, SIGNED, rules))
    assert "environment variable DESK_HOOK_SECRET is empty" in info.value.messages[0]
    monkeypatch.setenv("DESK_HOOK_SECRET", "s3cret")
    hook = load_config(config_dir(tmp_path, SIGNED, rules)).channels["hook"]
    assert isinstance(hook, WebhookOptions) and hook.secret_env == "DESK_HOOK_SECRET"


def test_monitor_check_reports_an_unset_webhook_secret(tmp_path: Path) -> None:
    rules = "rules:\n  - {id: r, name: R, query: biegun, notify: [hook]}\n"
    directory = config_dir(tmp_path, SIGNED, rules)
    result = run_monitor(
        "--config-dir", str(directory), "check", env={"DESK_HOOK_SECRET": None}, cwd=tmp_path
    )
    assert result.returncode == 1
    assert (
        f"{directory}/channels.yaml:3: channel 'hook': 'secret_env': environment variable "
        "DESK_HOOK_SECRET is not set"
    ) in result.stderr
    assert "Traceback" not in result.stderr
