"""The task run in the service: who produces the cut-out is one call (``CutoutProducer.produce``); whatever it
answers, the run stores, charges or refunds exactly once. Real database, real result store; the producers here
stand for an upstream provider, which does not run on this machine."""
from __future__ import annotations

import io

from PIL import Image

from bgremover.errors import ImageFetchFailed
from bgremover.pipeline.remover import Cutout, CutoutOptions
from bgremover.service import credits
from bgremover.service.processing import WorkerContext, load_input, run_task
from bgremover.service.tasks import get_task
from bgremover.store.results import LocalResultStore
from service.helpers import RecordingQueue, make_account, settings_for, submit
from web.images import photo_bytes


class UpstreamAnswering:
    """A producer that answers what an upstream provider would: a PNG of the asked size, or an error."""

    def __init__(self, error: Exception | None = None, box: tuple[int, int, int, int] | None = None) -> None:
        self.error, self.box, self.calls = error, box, []

    def produce(self, data: bytes, options: CutoutOptions) -> Cutout:
        self.calls.append((data, options))
        if self.error is not None:
            raise self.error
        buf = io.BytesIO()
        Image.new("RGBA", (5, 4), (10, 20, 30, 128)).save(buf, "PNG")
        return Cutout(buf.getvalue(), "image/png", 5, 4, options.model or "", foreground_box=self.box)


def _context(db, tmp_path, producer) -> WorkerContext:
    return WorkerContext(settings_for(tmp_path), db, LocalResultStore(tmp_path / "blobs"), RecordingQueue(), producer)


def test_the_producer_gets_the_input_and_the_tasks_options_and_its_cutout_is_stored_and_charged(db, tmp_path):
    upstream = UpstreamAnswering()
    ctx = _context(db, tmp_path, upstream)
    acc = make_account(db, 3)
    jpeg = photo_bytes((8, 6))
    task, _ = submit(db, tmp_path, acc, source_url=None, input_data=jpeg, output_format="png",
                     options={"crop": True}, cost=2)
    run_task(ctx, task.id)
    done = get_task(db, task.id)
    assert (done.status, done.credits_charged, done.result_width, done.result_height) == ("succeeded", 2, 5, 4)
    assert upstream.calls == [(jpeg, CutoutOptions(model="bg-remover-fast", format="png", crop=True))]
    assert Image.open(io.BytesIO(ctx.blobs.get(done.result_key))).size == (5, 4)
    assert credits.balance(db, account_id=acc).credits == 1


def test_the_subjects_box_the_producer_knows_is_recorded_with_the_result(db, tmp_path):
    """So an opaque result (a JPEG, a background) still answers remove.bg's X-Foreground-*; unknown: null."""
    acc = make_account(db, 3)
    for box, recorded in (((1, 0, 3, 2), "1,0,3,2"), (None, None)):
        ctx = _context(db, tmp_path, UpstreamAnswering(box=box))
        task, _ = submit(db, tmp_path, acc, source_url=None, input_data=photo_bytes((8, 6)), output_format="jpg")
        run_task(ctx, task.id)
        done = get_task(db, task.id)
        assert (done.status, done.result_box) == ("succeeded", recorded)


def test_a_producer_error_fails_the_task_with_its_code_and_refunds_once(db, tmp_path):
    ctx = _context(db, tmp_path, UpstreamAnswering(ImageFetchFailed("upstream said no")))
    acc = make_account(db, 3)
    task, _ = submit(db, tmp_path, acc, source_url=None, input_data=photo_bytes((8, 6)))
    run_task(ctx, task.id)
    run_task(ctx, task.id)  # a duplicate message does nothing
    failed = get_task(db, task.id)
    assert (failed.status, failed.error_code, failed.error_message) == ("failed", "image_fetch_failed",
                                                                        "upstream said no")
    assert credits.balance(db, account_id=acc).credits == 3


def test_load_input_reads_the_stored_upload(db, tmp_path):
    from bgremover.service import lifecycle

    ctx = _context(db, tmp_path, UpstreamAnswering())
    task, _ = submit(db, tmp_path, make_account(db, 1), source_url=None, input_data=b"the upload")
    claim = lifecycle.claim_task(db, ctx.settings, task.id)
    assert claim is not None and load_input(ctx, claim) == b"the upload"
