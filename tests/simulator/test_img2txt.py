"""img2txt captions pictures the simulator issued to the caller, from the pictures themselves."""

from tests.simulator.conftest import finished, submit


def caption(api, token, url):
    return api.post("img2txt", {"token": token, "init_img": url})


def test_it_captions_an_upload_by_its_size_and_colour(api, token):
    url = api.uploaded_url(token, size=(320, 480), colour=(30, 60, 210))

    response = caption(api, token, url)

    assert response.json() == {"code": 0, "info": "a 320x480 picture, mostly blue", "msg": ""}


def test_it_captions_its_own_pictures_with_their_prompt_and_seed(api, token):
    answer = finished(api, token, submit(api, token, prompt="a clock tower", select_seed=99))

    text = caption(api, token, answer["images"][0]["large"]).json()["info"]

    assert "640x640" in text and "a clock tower" in text and "99" in text


def test_it_refuses_a_picture_it_did_not_issue_to_the_caller(api, token, outsider_token):
    theirs = api.uploaded_url(outsider_token)

    for url in (theirs, "https://bkmk.oss-accelerate.aliyuncs.com/900ea63e.png"):
        answer = caption(api, token, url).json()
        assert answer["code"] == 129 and "init_img" in answer["msg"]


def test_it_names_a_missing_init_img(api, token):
    answer = caption(api, token, "").json()

    assert answer["code"] == 129 and "init_img" in answer["msg"]
