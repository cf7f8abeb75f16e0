"""The FastAPI original as it would run on AWS Lambda: the seed app (app.py, unchanged) wrapped
by Mangum, the usual ASGI adapter for API Gateway events, and run by AWS's Python runtime
interface client: `python -m awslambdaric lambda_handler.handler` (what the managed Python
runtime does). bench/run.sh --lambda-sizes runs it under its Runtime API stub.
"""

from app import app
from mangum import Mangum

handler = Mangum(app)
