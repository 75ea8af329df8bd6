"""Evidence: checked by content and size, stored privately, downloaded only by who may see
the dispute."""

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from apps.disputes import services
from apps.disputes.models import DisputeEvidence

from .conftest import PDF, PNG, make_in_status, snapshot

pytestmark = pytest.mark.django_db

GIF = b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00,"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00\xff\xdb"
WEBP = b"RIFF\x24\x00\x00\x00WEBPVP8 \x18\x00\x00\x000\x01\x00\x9d\x01\x2a\x01\x00\x01\x00"
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 64


def add(world, dispute, name, content, actor=None, note=""):
    return services.evidence_add(tenant=world.tenant, actor=actor or world.sales,
                                 dispute=dispute, file=SimpleUploadedFile(name, content),
                                 note=note)


def stored_files(settings):
    root = settings.MEDIA_ROOT
    return sorted(p.name for p in root.rglob("*") if p.is_file()) if root.exists() else []


@pytest.mark.parametrize(("name", "content", "mime"), [
    ("chat.png", PNG, "image/png"), ("call.JPG", JPEG, "image/jpeg"),
    ("x.jpeg", JPEG, "image/jpeg"), ("a.gif", GIF, "image/gif"), ("b.webp", WEBP, "image/webp"),
    ("登记表.pdf", PDF, "application/pdf"),
])
def test_images_and_pdf_are_accepted(world_a, dispute, settings, name, content, mime):
    evidence = add(world_a, dispute, name, content, note="聊天记录")
    assert (evidence.original_name, evidence.content_type, evidence.size, evidence.note) == (
        name, mime, len(content), "聊天记录")
    assert stored_files(settings) != []
    # Never the uploaded name on disk.
    assert name not in evidence.file.name


@pytest.mark.parametrize(("name", "content", "message"), [
    ("setup.exe", EXE, "只能上传图片（JPEG、PNG、WebP、GIF）或 PDF 文件。"),
    ("setup.png", EXE, "只能上传图片（JPEG、PNG、WebP、GIF）或 PDF 文件。"),
    ("notes.png", "这是文本，不是图片".encode(), "只能上传图片（JPEG、PNG、WebP、GIF）或 PDF 文件。"),
    ("photo.pdf", PNG, "文件名后缀是“.pdf”，但文件实际是 PNG 文件：请改名或上传正确的文件。"),
    ("photo", PNG, "文件名后缀是“.”，但文件实际是 PNG 文件：请改名或上传正确的文件。"),
    ("empty.png", b"", "文件是空的。"),
])
def test_wrong_files_are_refused_and_nothing_is_stored(world_a, dispute, settings, name, content,
                                                       message):
    before = snapshot(world_a, dispute)
    with pytest.raises(ValidationError) as exc:
        add(world_a, dispute, name, content)
    assert exc.value.message_dict == {"file": [message]}
    assert snapshot(world_a, dispute) == before
    assert stored_files(settings) == []


def test_over_the_size_limit_is_refused(world_a, dispute, settings):
    settings.EVIDENCE_MAX_BYTES = 1024
    before = snapshot(world_a, dispute)
    with pytest.raises(ValidationError) as exc:
        add(world_a, dispute, "big.png", PNG + b"\x00" * 1024)
    assert exc.value.message_dict == {"file": ["文件太大（1.1\xa0KB）：最大 1.0\xa0KB。"]}
    assert snapshot(world_a, dispute) == before
    assert stored_files(settings) == []
    add(world_a, dispute, "small.png", PNG)  # under the limit: fine


def test_no_evidence_on_a_closed_dispute(world_a, dispute, settings):
    make_in_status(world_a, dispute, "decided")
    with pytest.raises(ValidationError):
        add(world_a, dispute, "late.png", PNG)
    assert stored_files(settings) == []


def test_download_by_a_party_and_the_manager(world_a, dispute, client_for):
    evidence = add(world_a, dispute, "聊天.png", PNG)
    url = reverse("disputes:evidence", args=[dispute.pk, evidence.pk])
    for staff in (world_a.sales, world_a.sales2, world_a.manager, world_a.admin):
        response = client_for(staff).get(url)
        assert response.status_code == 200
        assert b"".join(response.streaming_content) == PNG
        assert response["Content-Type"] == "image/png"
        assert response["X-Content-Type-Options"] == "nosniff"


def test_pdf_downloads_as_attachment(world_a, dispute, client_for):
    evidence = add(world_a, dispute, "form.pdf", PDF)
    response = client_for(world_a.sales).get(
        reverse("disputes:evidence", args=[dispute.pk, evidence.pk]))
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment")


@pytest.mark.parametrize("who", ["sales_other_team", "cs", "finance"])
def test_download_refused_to_others(world_a, dispute, client_for, who):
    evidence = add(world_a, dispute, "聊天.png", PNG)
    response = client_for(getattr(world_a, who)).get(
        reverse("disputes:evidence", args=[dispute.pk, evidence.pk]))
    assert response.status_code == 404


def test_download_by_another_tenant_is_404(world_a, world_b, dispute, client_for):
    evidence = add(world_a, dispute, "聊天.png", PNG)
    url = reverse("disputes:evidence", args=[dispute.pk, evidence.pk])
    assert client_for(world_b.admin).get(url).status_code == 404
    api = reverse("dispute-evidence-file", args=[dispute.pk, evidence.pk])
    assert client_for(world_b.admin).get(api).status_code == 404


def test_evidence_of_another_dispute_is_404(world_a, dispute, customer, client_for):
    evidence = add(world_a, dispute, "聊天.png", PNG)
    other = services.dispute_open(tenant=world_a.tenant, actor=None, customer=customer,
                                  claimant=world_a.sales_other_team)
    url = reverse("disputes:evidence", args=[other.pk, evidence.pk])
    assert client_for(world_a.admin).get(url).status_code == 404


def test_upload_page_keeps_the_note_and_shows_the_error(world_a, dispute, client_for):
    response = client_for(world_a.sales).post(
        reverse("disputes:evidence_add", args=[dispute.pk]),
        {"file": SimpleUploadedFile("virus.png", EXE), "note": "通话记录"})
    assert response.status_code == 400
    html = response.content.decode()
    assert "只能上传图片（JPEG、PNG、WebP、GIF）或 PDF 文件。" in html
    assert 'value="通话记录"' in html
    with world_a.context():
        assert not DisputeEvidence.objects.exists()


def test_upload_page_stores_and_lists(world_a, dispute, client_for):
    client = client_for(world_a.sales2)
    response = client.post(reverse("disputes:evidence_add", args=[dispute.pk]),
                           {"file": SimpleUploadedFile("微信.png", PNG), "note": "聊天"})
    assert response.status_code == 302
    page = client.get(reverse("disputes:detail", args=[dispute.pk])).content.decode()
    assert "微信.png" in page and "证据“微信.png”已上传。" in page
