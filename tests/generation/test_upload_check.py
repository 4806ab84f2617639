"""The upload check (generation.vendor_rules.check_upload_image): a cut-off image is refused here, not at Miaohua."""

import io

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from generation.vendor_rules import check_upload_image


def truncated_jpeg(name="cut.jpg") -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.effect_noise((400, 400), 80).convert("RGB").save(buffer, "JPEG", quality=90)
    data = buffer.getvalue()
    return SimpleUploadedFile(name, data[: len(data) // 2], content_type="image/jpeg")


def test_a_truncated_jpeg_is_refused_at_upload():
    with pytest.raises(ValidationError, match="damaged or incomplete"):
        check_upload_image(truncated_jpeg())


def test_a_whole_jpeg_passes():
    buffer = io.BytesIO()
    Image.new("RGB", (300, 300), "teal").save(buffer, "JPEG")
    assert check_upload_image(SimpleUploadedFile("ok.jpg", buffer.getvalue())) == (300, 300)
