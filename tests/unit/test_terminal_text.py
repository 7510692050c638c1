"""How the CLI shows a server's text on a terminal: format characters as `?`,
save the joiners inside emoji sequences."""

import pytest

from jobdeck.cli import text


@pytest.mark.parametrize(
    "emoji",
    [
        "\U0001f469\U0001f3fd\u200d\U0001f4bb",  # woman technologist, a skin tone
        "\u2764\ufe0f\u200d\U0001f525",  # heart on fire
        "\U0001f3f3\ufe0f\u200d\U0001f308",  # rainbow flag
        "\U0001f468\u200d\U0001f469\u200d\U0001f467",  # family
    ],
)
def test_an_emoji_sequence_is_shown_whole(emoji: str) -> None:
    assert text(f"backup {emoji} nightly") == f"backup {emoji} nightly"


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        # Between letters a joiner would make two names look alike.
        ("back\u200dup", "back?up"),
        ("\u200d\U0001f469", "?\U0001f469"),
        ("\U0001f469\u200d", "\U0001f469?"),
        ("\U0001f469\u200d\u202e", "\U0001f469??"),
        ("\U0001f469\u200da", "\U0001f469?a"),
        # Only the joiner is let through, not other zero widths between emoji.
        ("\U0001f469\u200b\U0001f4bb", "\U0001f469?\U0001f4bb"),
        ("\U0001f469\ufe0f\u200d\u202e\U0001f4bb", "\U0001f469\ufe0f??\U0001f4bb"),
    ],
)
def test_a_joiner_outside_an_emoji_sequence_is_shown_as_a_question_mark(
    value: str, shown: str
) -> None:
    assert text(value) == shown
