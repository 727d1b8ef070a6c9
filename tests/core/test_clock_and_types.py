from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import Column, Integer, MetaData, Table, create_engine, insert, select

from exam.core import clock
from exam.core.db import UTCDateTime


def test_frozen_clock_stands_still_and_advances():
    start = datetime(2026, 5, 1, 8, 0, tzinfo=timezone.utc)
    clock.freeze(start)
    try:
        assert clock.now_utc() == start
        assert clock.now_utc() == start
        assert clock.advance(timedelta(minutes=90)) == start + timedelta(minutes=90)
        assert clock.now_utc() == start + timedelta(minutes=90)
    finally:
        clock.unfreeze()
    assert abs(clock.now_utc() - datetime.now(timezone.utc)) < timedelta(seconds=5)


def test_running_clock_can_be_shifted_forward():
    before = clock.now_utc()
    clock.advance(timedelta(hours=2))
    try:
        assert clock.now_utc() - before >= timedelta(hours=2)
        later = clock.now_utc()
        assert later.tzinfo is not None
    finally:
        clock.unfreeze()
    assert clock.now_utc() - before < timedelta(minutes=1)


def test_shifted_moves_a_frozen_clock_and_puts_it_back():
    start = datetime(2026, 3, 2, 1, 0, tzinfo=timezone.utc)
    clock.freeze(start)
    try:
        with clock.shifted(-timedelta(days=3)) as then:
            assert then == clock.now_utc() == start - timedelta(days=3)
            with clock.shifted(timedelta(hours=2)):
                assert clock.now_utc() == start - timedelta(days=3) + timedelta(hours=2)
            assert clock.now_utc() == then
            assert clock.is_frozen()
        assert clock.now_utc() == start
        with pytest.raises(RuntimeError):
            with clock.shifted(timedelta(minutes=5)):
                clock.advance(timedelta(hours=1))
                raise RuntimeError("boom")
        assert clock.now_utc() == start and clock.is_frozen()
    finally:
        clock.unfreeze()


def test_shifted_keeps_a_running_clock_running_and_restores_its_offset():
    clock.advance(timedelta(hours=1))
    try:
        with clock.shifted(-timedelta(days=30)) as then:
            assert not clock.is_frozen()
            assert abs(then - (datetime.now(timezone.utc) - timedelta(days=30, hours=-1))) < timedelta(seconds=5)
            assert clock.now_utc() >= then
        assert abs(clock.now_utc() - (datetime.now(timezone.utc) + timedelta(hours=1))) < timedelta(seconds=5)
    finally:
        clock.unfreeze()


def test_freeze_refuses_naive_datetimes():
    with pytest.raises(ValueError):
        clock.freeze(datetime(2026, 1, 1))


def test_clock_is_utc_even_when_frozen_in_another_zone():
    beijing = timezone(timedelta(hours=8))
    clock.freeze(datetime(2026, 5, 1, 9, 0, tzinfo=beijing))
    try:
        assert clock.now_utc().utcoffset() == timedelta(0)
        assert clock.now_utc().hour == 1
    finally:
        clock.unfreeze()


@pytest.mark.parametrize("url_kind", ["sqlite"])
def test_utc_datetime_round_trips_aware_and_refuses_naive(url_kind, tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path / 't.db'}")
    meta = MetaData()
    table = Table("t", meta, Column("id", Integer, primary_key=True), Column("at", UTCDateTime))
    meta.create_all(engine)
    beijing = timezone(timedelta(hours=8))
    value = datetime(2026, 3, 2, 9, 30, 15, 123456, tzinfo=beijing)
    with engine.begin() as conn:
        conn.execute(insert(table).values(id=1, at=value))
        stored = conn.execute(select(table.c.at)).scalar_one()
    assert stored == value
    assert stored.tzinfo == timezone.utc and stored.hour == 1
    with pytest.raises(Exception) as excinfo:
        with engine.begin() as conn:
            conn.execute(insert(table).values(id=2, at=datetime(2026, 3, 2, 9, 30)))
    assert "naive datetime" in str(excinfo.value)


def test_utc_datetime_on_postgresql(postgres_url):
    from exam.config import normalise_database_url

    engine = create_engine(normalise_database_url(postgres_url))
    meta = MetaData()
    table = Table("utc_probe", meta, Column("id", Integer, primary_key=True), Column("at", UTCDateTime),
                  prefixes=["TEMPORARY"])
    value = datetime(2026, 3, 2, 9, 30, 15, 123456, tzinfo=timezone(timedelta(hours=8)))
    with engine.begin() as conn:
        meta.create_all(conn)
        conn.execute(insert(table).values(id=1, at=value))
        stored = conn.execute(select(table.c.at)).scalar_one()
    engine.dispose()
    assert stored == value and stored.utcoffset() == timedelta(0)
