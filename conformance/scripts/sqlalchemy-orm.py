"""SQLAlchemy 2 ORM: declarative models, create_all / drop_all (with the
dialect's table-existence queries), a session adding objects, a query
with filter and ORDER BY, an aggregate, an UPDATE through the unit of
work, a rollback, a DELETE. With MYSQL_HOST set it uses the mysql+pymysql
dialect on tables t_order / t_region (MYSQL_* environment), else
postgresql+psycopg (psycopg 3) on orders / regions (PG* environment);
these are the tables the replay tier shards and broadcasts. Keys are
given explicitly."""
import os
from decimal import Decimal

from sqlalchemy import Integer, Numeric, String, BigInteger, create_engine, func, select
from sqlalchemy.engine import URL
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

env = os.environ
mysql = "MYSQL_HOST" in env
if mysql:
    url = URL.create(
        "mysql+pymysql", env["MYSQL_USER"], env["MYSQL_PASSWORD"], env["MYSQL_HOST"],
        int(env["MYSQL_PORT"]), env["MYSQL_DATABASE"],
    )
else:
    url = URL.create(
        "postgresql+psycopg", env["PGUSER"], env["PGPASSWORD"], env["PGHOST"],
        int(env["PGPORT"]), env["PGDATABASE"], query={"sslmode": "disable"},
    )


class Base(DeclarativeBase):
    pass


class Order(Base):
    __tablename__ = "t_order" if mysql else "orders"
    order_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    user_id: Mapped[int] = mapped_column(Integer, nullable=False)
    status: Mapped[str] = mapped_column(String(20))
    amount: Mapped[Decimal] = mapped_column(Numeric(10, 2))


class Region(Base):
    __tablename__ = "t_region" if mysql else "regions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    name: Mapped[str] = mapped_column(String(20))


engine = create_engine(url)
Base.metadata.create_all(engine)
with Session(engine) as s:
    s.add_all([Order(order_id=i, user_id=i % 4 + 1, status="new", amount=Decimal(i)) for i in range(1, 9)])
    s.add(Region(id=1, name="north"))
    s.commit()
    rows = s.scalars(select(Order).where(Order.user_id == 2).order_by(Order.order_id)).all()
    print([o.order_id for o in rows])
    print(s.execute(select(func.count(), func.sum(Order.amount)).select_from(Order)).one())
    o = s.get(Order, 3)
    o.status = "paid"
    s.commit()
    o = s.get(Order, 4)
    o.status = "lost"
    s.flush()
    s.rollback()
    s.delete(s.get(Order, 5))
    s.commit()
    print(s.execute(select(Order.status, func.count()).group_by(Order.status).order_by(Order.status)).all())
Base.metadata.drop_all(engine)
engine.dispose()
