"""helpdesk.text: normalisation, language, words and terms in English and Japanese."""

from __future__ import annotations

import pytest

from helpdesk.events import Language
from helpdesk.text import detect_language, normalise, terms, words


class TestNormalise:
    def test_full_width_latin_and_digits_become_ascii(self) -> None:
        assert normalise("ＶＰＮ　１２３") == "VPN 123"

    def test_half_width_katakana_becomes_full_width(self) -> None:
        assert normalise("ﾊﾟｽﾜｰﾄﾞ") == "パスワード"

    def test_whitespace_is_collapsed_and_trimmed(self) -> None:
        assert normalise("  reset \t my\n\npassword  ") == "reset my password"

    def test_compatibility_characters_become_plain(self) -> None:
        assert normalise("①　㈱") == "1 (株)"


class TestDetectLanguage:
    @pytest.mark.parametrize(
        "text", ["hi", "thanks!", "my vpn is down", "how do I reset my password", "Can't log in"]
    )
    def test_short_english(self, text: str) -> None:
        assert detect_language(text) is Language.EN

    @pytest.mark.parametrize("text", ["こんにちは", "VPNにつながりません", "ありがとう", "パスワード"])
    def test_japanese_with_kana(self, text: str) -> None:
        assert detect_language(text) is Language.JA

    def test_kanji_only_is_japanese(self) -> None:
        assert detect_language("経費精算") is Language.JA

    def test_chinese_is_other(self) -> None:
        assert detect_language("我的密码忘了，请问怎么办") is Language.OTHER

    @pytest.mark.parametrize("text", ["안녕하세요", "Здравствуйте", "Bonjour, je voudrais de l'aide"])
    def test_other_languages_are_marked_other(self, text: str) -> None:
        assert detect_language(text) is Language.OTHER

    def test_digits_only_follow_the_hint(self) -> None:
        assert detect_language("12345", "ja-JP") is Language.JA
        assert detect_language("12345") is Language.EN


class TestWords:
    def test_english_words_lower_cased_without_punctuation(self) -> None:
        assert words("Reset my VPN password, please!", Language.EN) == [
            "reset",
            "my",
            "vpn",
            "password",
            "please",
        ]

    def test_japanese_morphemes_without_particles(self) -> None:
        tokens = words("パスワードを忘れました", Language.JA)
        assert tokens[0] == "パスワード"
        assert "を" not in tokens


class TestLongRunsForMeCab:
    """MeCab reads a run of one kind of character it does not know (katakana, Latin letters, digits,
    symbols, emoji) as a candidate word from each of its characters to the run's end: quadratic in the
    run. A run is handed to it in pieces of at most a hundred characters, longer than any word."""

    @pytest.mark.parametrize("unit", ["ア", "ー", "a", "1", "-", "😀", "α"])
    def test_no_run_longer_than_a_word_reaches_the_tagger(
        self, monkeypatch: pytest.MonkeyPatch, unit: str
    ) -> None:
        from helpdesk.text import tokens

        tagger = tokens._tagger()
        given: list[str] = []

        def recorded(text: str) -> object:
            given.append(text)
            return tagger(text)

        monkeypatch.setattr(tokens, "_tagger", lambda: recorded)
        words(f"これは{unit * 4000}です", Language.JA)
        assert "".join(given) == f"これは{unit * 4000}です"
        assert max(text.count(unit) for text in given) <= 100

    def test_ordinary_japanese_is_read_in_one_piece(self) -> None:
        sentence = "VPNに接続できません。https://example.com/vpn/setup を見てパスワードをリセットしました。"
        assert words(sentence * 40, Language.JA) == words(sentence, Language.JA) * 40


class TestTerms:
    def test_english_stems_without_stop_words(self) -> None:
        assert terms("I am resetting my passwords", Language.EN) == ["reset", "password"]

    def test_english_keeps_negation(self) -> None:
        assert "not" in terms("VPN is not connecting", Language.EN)

    def test_japanese_lemmas_without_stop_words(self) -> None:
        out = terms("パスワードを忘れました", Language.JA)
        assert "パスワード" in out
        assert "忘れる" in out
        assert "ます" not in out

    def test_latin_words_in_japanese_share_english_stems(self) -> None:
        assert "vpn" in terms("VPNに接続できません", Language.JA)
        assert "vpn" in terms("I can't connect to the VPN", Language.EN)

    def test_stop_words_kept_for_classification(self) -> None:
        assert terms("how do I reset it", Language.EN, keep_stop_words=True) == [
            "how",
            "do",
            "i",
            "reset",
            "it",
        ]
        kept = terms("パスワードをリセットしてください", Language.JA, keep_stop_words=True)
        assert kept == ["パスワード", "リセット", "為る", "下さる"]
        assert terms("パスワードをリセットしてください", Language.JA) == ["パスワード", "リセット"]


def test_english_tokens_match_nltk_without_importing_all_of_nltk() -> None:
    import subprocess
    import sys

    probe = (
        "import sys\n"
        "from helpdesk.events import Language\n"
        "from helpdesk.text import words\n"
        'tokens = words("I can\'t log in (since 9:30am)", Language.EN)\n'
        "print(tokens, 'sklearn' in sys.modules, any(m.startswith('nltk') for m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "['i', 'ca', \"n't\", 'log', 'in', 'since', '9:30am'] False False"

    from nltk.tokenize import NLTKWordTokenizer

    expected = [t for t in NLTKWordTokenizer().tokenize("i can't log in (since 9:30am)") if t not in "()"]
    assert words("I can't log in (since 9:30am)", Language.EN) == expected
