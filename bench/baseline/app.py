"""The FastAPI original, for the benchmark: the seed's three routes as written there.

Only change: the external URL comes from EXTERNAL_API_URL (default: the seed's), so the
benchmark can point it at its local stub. Everything else is the seed's code, deliberately
untuned: a new httpx.AsyncClient per request, asyncio.sleep, a sync `def` route that FastAPI
runs in its threadpool, and two `Depends` for /mixed.

Run: uvicorn app:app --workers 1   (bench/run.sh does this)
"""

import asyncio
import os

import httpx  # Example async HTTP client
from fastapi import Depends, FastAPI

EXTERNAL_API_URL = os.environ.get(
    "EXTERNAL_API_URL", "https://jsonplaceholder.typicode.com/todos/1"
)

app = FastAPI()


# --- Async Path Operation ---
@app.get("/call-external-api")
async def get_external_data():
    # Use an async HTTP client like httpx
    async with httpx.AsyncClient() as client:
        # 'await' pauses this function while waiting for the network response,
        # allowing the server to handle other requests.
        response = await client.get(EXTERNAL_API_URL)
        response.raise_for_status()  # Raise exception for bad status codes
        external_data = response.json()

    # Simulate another async operation
    await asyncio.sleep(0.1)  # Non-blocking sleep

    return {"external": external_data, "message": "Data fetched"}


# --- Sync Path Operation (CPU-bound example) ---
def complex_calculation(n: int) -> int:
    # Simulate a CPU-intensive task
    result = 0
    for i in range(n):
        result += i * i % 1234
    return result


@app.get("/calculate/{number}")
def calculate_stuff(number: int):
    # FastAPI runs this 'def' function in a threadpool,
    # preventing it from blocking the main event loop.
    result = complex_calculation(number * 10000)  # Simulate work
    return {"number": number, "result": result}


# --- Mixing Sync and Async Dependencies/Calls ---
async def async_dependency():
    await asyncio.sleep(0.05)
    return {"dep": "async"}


def sync_dependency():
    # Simulate some work
    _ = complex_calculation(1000)
    return {"dep": "sync"}


@app.get("/mixed")
async def read_mixed(
    # FastAPI handles calling sync dependencies correctly from async path ops
    sync_dep_result: dict = Depends(sync_dependency),
    async_dep_result: dict = Depends(async_dependency),
):
    # Calling sync code directly inside async def is generally okay if it's fast/non-blocking
    sync_calc_result = complex_calculation(500)

    return {
        "sync_dep": sync_dep_result,
        "async_dep": async_dep_result,
        "sync_calc": sync_calc_result,
    }
