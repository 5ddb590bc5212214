"""The system favorite-athlete replaces: the same contract in Flask (run by gunicorn)."""
from flask import Flask, jsonify

app = Flask(__name__)


@app.route("/", methods=["GET"])
def favorite_athlete():
    return jsonify(myFavoriteAthlete="Usain Bolt")


@app.errorhandler(405)
def method_not_allowed(_error):
    return "Only GET method valid", 405, {"Allow": "GET, HEAD", "Content-Type": "text/plain; charset=utf-8"}
