"""One place key: the owner indicators count places by ``ownergraph.places.place_key``."""

from __future__ import annotations

import pandas as pd

from ownergraph import place_keys, places
from ownergraph.owners import scoring


def test_place_keys_are_the_places_key() -> None:
    region, city = place_keys.place_key("TX", "Odessa")
    assert region == places.place_key("US", "TX") == "US|TX|"
    assert city == places.place_key("US", "TX", "Odessa") == "US|TX|odessa"


def test_odessa_and_odessa_texas_are_one_city() -> None:
    want = ("US|TX|", "US|TX|odessa")
    assert place_keys.place_key("TX", "Odessa, Texas") == want
    assert place_keys.place_key("Texas", "odessa,  TX.") == want
    assert place_keys.place_key(None, "Odessa, TX") == want  # the trailing state gives it
    # a trailing state that contradicts the ad's state stays part of the city
    assert place_keys.place_key("FL", "Odessa, Texas") == ("US|FL|", "US|FL|odessa, texas")


def test_countries_and_provinces_stay_apart() -> None:
    on = place_keys.place_key("Ontario", "North  Bay")
    assert on == ("CA|ON|", "CA|ON|north bay") == place_keys.place_key("ON", "North Bay", "CA")
    assert place_keys.place_key("ON", "North Bay", "Germany")[0] == "DE|ON|"
    assert place_keys.place_key("Macau", "Kansas City")[1] == "|MACAU|kansas city"
    assert place_keys.place_key(None, None) == (None, None)
    assert place_keys.place_key(float("nan"), " ") == (None, None)


def test_indicators_count_places_by_the_one_key() -> None:
    ads = pd.DataFrame(
        {
            "id": list("abcde"),
            "posted_ts": [86_400 * d for d in range(1, 6)],
            "state": ["TX", "Texas", None, "ON", "ON"],
            "city": ["Odessa", "odessa", "Odessa, TX", "North Bay", "North Bay"],
            "country": [None, None, None, "CA", "DE"],
        }
    )
    ind = scoring.compute_indicators(ads, pd.Series("O", index=list("abcde"))).loc["O"]
    assert (ind["states"], ind["cities"]) == (3, 3)  # TX; Ontario; a German "ON"
