"""Quality evaluation: score cut-outs against ground truth exactly as shared/eval/evalcut.py does."""
