import pytest

from tickerhouse.errors import UserError
from tickerhouse.settings import load_settings


def test_keys_are_a_comma_separated_list_and_never_shown(monkeypatch):
    monkeypatch.setenv("TICKERHOUSE_FINNHUB_API_KEY", " key-one , key-two,")
    settings = load_settings()
    assert settings.api_keys("finnhub") == ["key-one", "key-two"]
    assert settings.api_keys("polygon") == []
    assert "key-one" not in repr(settings)
    assert "key-one" not in str(settings.model_dump())


def test_base_urls_lose_their_trailing_slash(monkeypatch):
    monkeypatch.setenv("TICKERHOUSE_POLYGON_BASE_URL", "http://127.0.0.1:9999/")
    assert load_settings().base_url("polygon") == "http://127.0.0.1:9999"


@pytest.mark.parametrize(("name", "value"), [
    ("TICKERHOUSE_HISTORY_SESSIONS", "-3"),
    ("TICKERHOUSE_HISTORY_SESSIONS", "lots"),
    ("TICKERHOUSE_NEWSAPI_BASE_URL", "newsapi.org"),
])
def test_a_bad_setting_is_one_line_naming_the_variable(monkeypatch, name, value):
    monkeypatch.setenv(name, value)
    with pytest.raises(UserError) as caught:
        load_settings()
    message = str(caught.value)
    assert name in message and "\n" not in message


def test_dotenv_file_is_read(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text("TICKERHOUSE_EMULATOR_TICKERS=120\n")
    assert load_settings().emulator_tickers == 120
