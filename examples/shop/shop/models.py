"""The example shop: a Django-shaped schema with the patterns idxadvise must handle.

- Customer: emails looked up with iexact, soft deletion (deleted_at), a boolean flag.
- Product: an auto-created M2M to Tag, a db_column override (sku -> sku_code).
- Order: FK to Customer, a skewed status, created_at for "newest first" pages.
- OrderItem: FKs to Order and Product.
- Review: a db_table override ("reviews").
"""

from django.conf import settings
from django.db import models


class Customer(models.Model):
    email = models.CharField(max_length=254)
    name = models.CharField(max_length=100)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField()
    deleted_at = models.DateTimeField(null=True, blank=True)


class Tag(models.Model):
    name = models.CharField(max_length=50, unique=True)


class Product(models.Model):
    name = models.CharField(max_length=200)
    sku = models.CharField(max_length=32, unique=True, db_column="sku_code")
    price = models.DecimalField(max_digits=10, decimal_places=2)
    is_active = models.BooleanField(default=True)
    tags = models.ManyToManyField(Tag, blank=True)


class Order(models.Model):
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE)
    status = models.CharField(max_length=20)
    created_at = models.DateTimeField()
    total = models.DecimalField(max_digits=12, decimal_places=2)
    deleted_at = models.DateTimeField(null=True, blank=True)


class OrderItem(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE)
    product = models.ForeignKey(Product, on_delete=models.PROTECT)
    quantity = models.IntegerField()
    price = models.DecimalField(max_digits=10, decimal_places=2)


class Review(models.Model):
    product = models.ForeignKey(Product, on_delete=models.CASCADE)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL
    )
    rating = models.SmallIntegerField()
    body = models.TextField()
    created_at = models.DateTimeField()

    class Meta:
        db_table = "reviews"
