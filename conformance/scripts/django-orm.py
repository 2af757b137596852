"""Django 5 ORM on PostgreSQL (its psycopg 3 backend): settings made in
the script, a model created and dropped with the schema editor, create /
bulk_create, filter / order_by / values, aggregate, update(), get(),
delete(), a transaction.atomic() block rolled back by an exception, and
a unique violation caught as IntegrityError. Table `orders` (the replay
tier shards it); keys are given explicitly. PG* environment."""
import os
from decimal import Decimal

import django
from django.conf import settings

env = os.environ
settings.configure(
    DATABASES={
        "default": {
            "ENGINE": "django.db.backends.postgresql",
            "HOST": env["PGHOST"],
            "PORT": env["PGPORT"],
            "USER": env["PGUSER"],
            "PASSWORD": env["PGPASSWORD"],
            "NAME": env["PGDATABASE"],
            "OPTIONS": {"sslmode": "disable"},
        }
    },
    INSTALLED_APPS=[],
    USE_TZ=True,
)
django.setup()

from django.db import IntegrityError, connection, models, transaction  # noqa: E402
from django.db.models import Count, Sum  # noqa: E402


class Order(models.Model):
    order_id = models.BigIntegerField(primary_key=True)
    user_id = models.IntegerField()
    status = models.CharField(max_length=20)
    amount = models.DecimalField(max_digits=10, decimal_places=2)

    class Meta:
        app_label = "conformance"
        db_table = "orders"


with connection.schema_editor() as editor:
    editor.create_model(Order)
Order.objects.create(order_id=1, user_id=2, status="new", amount=Decimal("1.00"))
Order.objects.bulk_create(
    [Order(order_id=i, user_id=i % 4 + 1, status="new", amount=Decimal(i)) for i in range(2, 9)]
)
print(list(Order.objects.filter(user_id=2).order_by("order_id").values_list("order_id", flat=True)))
print(Order.objects.aggregate(n=Count("order_id"), total=Sum("amount")))
Order.objects.filter(order_id=3, user_id=4).update(status="paid")
print(Order.objects.get(order_id=3, user_id=4).status)
try:
    with transaction.atomic():
        Order.objects.filter(order_id=4, user_id=1).update(status="lost")
        raise RuntimeError("roll back")
except RuntimeError:
    pass
try:
    with transaction.atomic():
        Order.objects.create(order_id=1, user_id=2, status="dup", amount=Decimal(0))
except IntegrityError:
    print("duplicate")
Order.objects.filter(order_id=5, user_id=2).delete()
print(list(Order.objects.values("status").annotate(n=Count("order_id")).order_by("status")))
with connection.schema_editor() as editor:
    editor.delete_model(Order)
connection.close()
