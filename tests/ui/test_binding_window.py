"""Binding in the window: suggested pairs on the chips, the Bind attributes group, linking by menu and
by clicks, pairs that survive edits and restores, and runs that carry them (#22)."""
from __future__ import annotations

import dataclasses

from aae_desktop.engine.objectives.bind_settings import BindSettings

TIMEOUT = 15000
PROMPT = "a red cat and a blue frog"  # red 2, cat 3, blue 6, frog 7; end of text 8
RED_CAT_BLUE_FROG = ((((2,),), (3,)), (((6,),), (7,)))


def _index(window, text, nth=0):
    return [i for i, w in enumerate(window.prompt_editor.parsed.words) if w.text == text][nth]


def _chip(window, text):
    return window.prompt_editor.token_selector.chips[_index(window, text)]


def _pairs(window):
    return [(m.text, n.text) for m, n in window.prompt_editor.bind_pairs()]


def test_typed_prompt_gets_suggested_pairs_and_binding_turns_on(make_window):
    window = make_window()
    assert not window.parameters.bind.isChecked()
    window.prompt_editor.prompt_edit.setPlainText(PROMPT)
    assert _pairs(window) == [("red", "cat"), ("blue", "frog")]
    assert window.parameters.bind.isChecked()
    assert "red → cat" in window.parameters.bind.note.text()
    request = window.current_request()
    assert request.bind.groups == RED_CAT_BLUE_FROG and request.bind.prompt_length == 8 and request.bind.enabled
    # red and cat share an underline colour, blue and frog another; the tooltip says what describes what
    assert _chip(window, "red").styleSheet() == _chip(window, "cat").styleSheet() != ""
    assert _chip(window, "blue").styleSheet() != _chip(window, "red").styleSheet()
    assert _chip(window, "and").styleSheet() == ""
    assert "Describes → cat" in _chip(window, "red").toolTip()
    window.prompt_editor.prompt_edit.setPlainText("a cat and a frog")  # no pairs: binding follows, off
    assert _pairs(window) == [] and not window.parameters.bind.isChecked()


def test_the_chip_menu_binds_a_word_to_another_noun_and_unbinds_it(make_window):
    window = make_window()
    window.prompt_editor.prompt_edit.setPlainText(PROMPT)
    selector = window.prompt_editor.token_selector
    menu = selector.binding_menu(_index(window, "red"))
    describes = next(a.menu() for a in menu.actions() if a.menu() is not None)
    targets = {a.text(): a for a in describes.actions()}
    assert "→ and" not in targets and "→ a" not in targets  # function words are not offered as nouns
    assert targets["→ cat"].isChecked()
    targets["→ frog"].trigger()
    assert _pairs(window) == [("red", "frog"), ("blue", "frog")]
    unbind = next(a for a in selector.binding_menu(_index(window, "frog")).actions() if a.text().startswith("Unbind"))
    unbind.trigger()
    assert _pairs(window) == []
    suggested = next(a for a in selector.binding_menu(_index(window, "red")).actions()
                     if a.text() == "Use the suggested pairs")
    suggested.trigger()
    assert _pairs(window) == [("red", "cat"), ("blue", "frog")]


def test_link_mode_binds_by_two_clicks_without_choosing_words(make_window, qtbot):
    window = make_window()
    window.prompt_editor.prompt_edit.setPlainText(PROMPT)
    selector = window.prompt_editor.token_selector
    selector.link_button.click()
    _chip(window, "blue").click()
    assert "blue" in selector.findChild(type(selector._state), "tokenSelectorState").text()
    _chip(window, "cat").click()
    assert _pairs(window) == [("red", "cat"), ("blue", "cat")]
    assert window.prompt_editor.token_indices() == ()  # the clicks linked; they chose no word
    assert not _chip(window, "blue").isChecked() and not _chip(window, "cat").isChecked()
    selector.link_button.click()  # Link mode off: a click chooses the word again
    _chip(window, "cat").click()
    assert window.prompt_editor.token_indices() == (3,)


def test_the_artists_pairs_follow_edits_of_the_prompt(make_window, qtbot):
    window = make_window()
    editor = window.prompt_editor
    editor.prompt_edit.setPlainText(PROMPT)
    editor.toggle_link(_index(window, "blue"), _index(window, "cat"))  # by hand: blue describes the cat too
    cursor = editor.prompt_edit.textCursor()
    cursor.setPosition(2)
    cursor.insertText("fluffy ")
    assert editor.prompt() == "a fluffy red cat and a blue frog"
    assert _pairs(window) == [("red", "cat"), ("blue", "cat")]  # kept, not re-suggested
    assert ("fluffy", "cat") not in _pairs(window)


def test_restoring_an_image_brings_its_pairs_and_binding_values_back(make_window):
    window = make_window()
    window.prompt_editor.prompt_edit.setPlainText("a dog")
    request = window.current_request().replace(
        prompt="a black and white dog and a red hat",
        bind=BindSettings(True, ((((2,), (4,)), (5,)),), 12.5, 10, steps=9))
    window.apply_request(request)
    assert _pairs(window) == [("black", "dog"), ("white", "dog")]  # as saved: the hat's pair was not bound
    assert window.parameters.bind.isChecked()
    restored = window.current_request().bind
    assert restored == request.bind
    window.apply_request(dataclasses.replace(request, bind=BindSettings()))  # an image without binding
    assert not window.parameters.bind.isChecked()
    assert not window.current_request().bind.enabled


def test_generate_with_pairs_and_no_chosen_word_binds_alone(make_window, qtbot, fake_engine):
    window = make_window()
    window.request_model_load("fake-model-folder")
    window.prompt_editor.prompt_edit.setPlainText(PROMPT)
    window.parameters.steps.setValue(4)
    with qtbot.waitSignal(window.results_ready, timeout=TIMEOUT):
        window.generate()
    sent = fake_engine.runs[-1]
    assert sent.bind.active and sent.bind.groups == RED_CAT_BLUE_FROG and sent.excite.token_indices == ()
    window.parameters.bind.setChecked(False)  # by hand: it stays off
    window.generate()  # no words, no binding: refused as before
    assert "Choose at least one word" in window.banner.message()
    window.prompt_editor.prompt_edit.setPlainText("a green frog")
    assert not window.parameters.bind.isChecked()  # the artist's choice is kept for new pairs
