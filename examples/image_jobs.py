"""A worker pool processing images: the first example of the Go article.

Each job "processes" one image (a short sleep stands in for the work) and
returns a small dict; one image has an impossible quality setting, so its
job raises and the error comes back from ``wait()`` with the results.

    python examples/image_jobs.py
"""

# What tests/test_examples.py checks the output for (one regex a line):
# expect: ^Processed 9 images in \d+\.\d s$
# expect: ^  image7\.jpg: quality must be 1-100, got 850$

from __future__ import annotations

import time
from dataclasses import dataclass

from bigopool import Dispatcher


@dataclass
class ImageProcessingJob:
    image_path: str
    output_path: str
    quality: int

    def execute(self) -> dict[str, object]:
        if not 1 <= self.quality <= 100:
            raise ValueError(f"quality must be 1-100, got {self.quality}")

        time.sleep(0.1)  # the image processing itself
        return {
            "input": self.image_path,
            "output": self.output_path,
            "size_kb": 1024,
            "processed": True,
        }


def main() -> None:
    # 5 workers, and at most 100 jobs waiting for one: enqueue() blocks
    # beyond that, so a producer can never run far ahead of the workers.
    dispatcher: Dispatcher[dict[str, object]] = Dispatcher(workers=5, queue_size=100)
    dispatcher.run()

    started = time.perf_counter()
    for number in range(1, 11):
        path = f"image{number}.jpg"
        quality = 850 if number == 7 else 85  # one typo among the settings
        dispatcher.enqueue(ImageProcessingJob(path, f"processed_{path}", quality))

    results, errors = dispatcher.wait()
    elapsed = time.perf_counter() - started

    print(f"Processed {len(results)} images in {elapsed:.1f} s")
    if not errors.is_empty():
        print(f"Encountered {len(errors.all())} error(s):")
        for job, error in errors.items():
            print(f"  {job.image_path}: {error}")


if __name__ == "__main__":
    main()
