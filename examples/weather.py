"""A weather-style pipeline, as in the course: fetch a forecast, then save it.

The course's version calls the Open-Meteo API; this one computes a plausible temperature from the
time of day, so it runs with no network (the emulator's machines have none). Deploy it on a
schedule:

    python examples/weather.py deploy [POOL]      # cron="* * * * *": every minute

and watch `pushpool run ls --deployment pipeline/weather-every-minute` fill up, once a minute.
"""

import math
import sys
import time
from pathlib import Path

from pushpool import flow


def fetch_weather(lat: float, lon: float) -> float:
    hour = (time.time() / 3600 + lon / 15) % 24  # local solar hour
    return round(12 + 6 * math.sin((hour - 9) / 24 * 2 * math.pi) + lat / 30, 1)


def save_weather(temp: float, out: str) -> str:
    if out:
        Path(out).write_text(f"{temp}\n")
    return "Successfully wrote temp"


@flow(log_prints=True, retries=3)
def pipeline(lat: float = 38.9, lon: float = -77.0, out: str = "") -> float:
    temp = fetch_weather(lat, lon)
    print(f"Forecasted temp C: {temp} degrees")
    print(save_weather(temp, out))
    return temp


if __name__ == "__main__":
    if sys.argv[1:2] == ["deploy"]:
        here = Path(__file__).resolve().parent
        pipeline.from_source(
            source=str(here.parent), entrypoint="examples/weather.py:pipeline"
        ).deploy(
            name="weather-every-minute",
            work_pool_name=sys.argv[2] if len(sys.argv) > 2 else "my-pool",
            cron="* * * * *",
        )
    else:
        pipeline()
