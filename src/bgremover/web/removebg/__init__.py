"""remove.bg's HTTP protocol on our keys and credits (issue 15): request parsing (request.py, params.py),
answers (responses.py) and errors (errors.py) in remove.bg's shapes; the routes in routes.py."""
from bgremover.web.removebg.routes import router

__all__ = ["router"]
