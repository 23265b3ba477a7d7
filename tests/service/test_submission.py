"""The submit policy: a refused source costs nothing and is never queued; the price is the model's credits."""
from __future__ import annotations

import base64

import pytest

from bgremover.errors import ForbiddenAddress, ImageFetchFailed
from bgremover.service import credits
from bgremover.service.errors import ValidationFailed
from bgremover.service.models import ModelCatalog
from bgremover.service.submission import Submission, image_source, submit_removal
from bgremover.store.results import LocalResultStore
from service.helpers import RecordingQueue, make_account, settings_for
from web.images import photo_bytes

LITERAL_INTERNAL = ["http://127.0.0.1:9/x.jpg", "http://[::1]/x.jpg", "http://2130706433/x.jpg",
                    "http://0x7f.1/x.jpg", "http://10.1.2.3/x.jpg", "http://169.254.169.254/latest/meta-data",
                    "http://[::ffff:127.0.0.1]/x.jpg"]


@pytest.mark.parametrize("url", LITERAL_INTERNAL)
def test_a_literal_loopback_or_private_address_is_refused_at_submission(tmp_path, url):
    """Issue 13 item 10: refused at once with the 400 other refused URLs get, not accepted and failed later."""
    with pytest.raises(ForbiddenAddress) as refused:
        image_source(Submission(image=url), settings_for(tmp_path))
    assert refused.value.code == "image_fetch_forbidden" and "public" in refused.value.message


def test_an_allowed_network_is_accepted_as_the_fetcher_would_accept_it(tmp_path):
    settings = settings_for(tmp_path, fetch_allow_networks="127.0.0.1/32")
    assert image_source(Submission(image=" http://127.0.0.1:9/x.jpg "), settings) == ("http://127.0.0.1:9/x.jpg", None)
    with pytest.raises(ForbiddenAddress):
        image_source(Submission(image="http://127.0.0.2/x.jpg"), settings)


def test_sources_upload_data_uri_and_the_refusals(tmp_path):
    settings = settings_for(tmp_path)
    jpeg = photo_bytes((8, 8))
    assert image_source(Submission(upload=jpeg), settings) == (None, jpeg)
    data_uri = "data:image/jpeg;base64," + base64.b64encode(jpeg).decode()
    assert image_source(Submission(image=data_uri), settings) == (None, jpeg)
    assert image_source(Submission(image="https://example.com/a.jpg"), settings) == ("https://example.com/a.jpg", None)
    for bad in (Submission(), Submission(image="https://example.com/a.jpg", upload=jpeg), Submission(upload=b""),
                Submission(image="ftp://example.com/a.jpg")):
        with pytest.raises(ValidationFailed):
            image_source(bad, settings)
    with pytest.raises(ForbiddenAddress):
        image_source(Submission(image="http://user:pw@example.com/a.jpg"), settings)
    with pytest.raises(ImageFetchFailed):
        image_source(Submission(image="data:image/png;base64,***"), settings)


def test_a_refused_submission_creates_nothing_and_charges_nothing(db, tmp_path):
    models, queue, blobs = ModelCatalog(settings_for(tmp_path)), RecordingQueue(), LocalResultStore(tmp_path / "b")
    acc = make_account(db, 3)
    with pytest.raises(ForbiddenAddress):
        submit_removal(db, blobs, queue, models, account_id=acc,
                       submission=Submission(image="http://127.0.0.1/x.jpg", model="bg-remover-fast"))
    assert queue.ids == [] and credits.balance(db, account_id=acc).reserved == 0


def test_an_accepted_submission_reserves_the_models_credits_and_queues_it(db, tmp_path, remover):
    models, queue = ModelCatalog(settings_for(tmp_path)), RecordingQueue()
    acc = make_account(db, 3)
    task, created = submit_removal(db, LocalResultStore(tmp_path / "b"), queue, models, account_id=acc,
                                   submission=Submission(upload=photo_bytes((8, 8)), model="bg-remover-fast",
                                                         output_format="webp", options={"crop": True}))
    price = models.catalog.presets["bg-remover-fast"].credits
    assert created and queue.ids == [task.id] and task.credits_reserved == price
    assert (task.model, task.output_format, task.options) == ("bg-remover-fast", "webp", {"crop": True})
    assert credits.balance(db, account_id=acc).reserved == price
