-- connection kafka_connection
CREATE CONNECTION "kafka_connection" TO KAFKA (BROKER 'jaffle-dev-redpanda:9092', SECURITY PROTOCOL = 'PLAINTEXT');

-- source raw_orders
CREATE SOURCE "raw_orders" IN CLUSTER "quickstart" FROM KAFKA CONNECTION "kafka_connection" (TOPIC 'raw_orders') FORMAT JSON ENVELOPE NONE;

-- source raw_payments
CREATE SOURCE "raw_payments" IN CLUSTER "quickstart" FROM KAFKA CONNECTION "kafka_connection" (TOPIC 'raw_payments') FORMAT JSON ENVELOPE NONE;

-- secret postgres_password
CREATE SECRET "postgres_password" AS :secret;

-- connection postgres_connection
CREATE CONNECTION "postgres_connection" TO POSTGRES (HOST 'jaffle-dev-postgres', PORT 5432, USER 'jaffle_materialize', PASSWORD SECRET "postgres_password", DATABASE 'jaffle_shop', SSL MODE 'disable');

-- source postgres_cdc
CREATE SOURCE "postgres_cdc" IN CLUSTER "quickstart" FROM POSTGRES CONNECTION "postgres_connection" (PUBLICATION 'jaffle_cdc') FOR TABLES ("public"."raw_customers" AS "public"."raw_customers_cdc");

-- view raw_customers
CREATE VIEW "public"."raw_customers" AS
SELECT jsonb_build_object('id', "id", 'first_name', "first_name", 'last_name', "last_name") AS data FROM "public"."raw_customers_cdc";

-- schema public_etl_failure
CREATE SCHEMA "public_etl_failure";

-- view stg_customers
CREATE VIEW "public"."stg_customers" AS
select
    (data ->> 'id')::bigint as customer_id,
    data ->> 'first_name' as first_name,
    data ->> 'last_name' as last_name
from raw_customers;

-- view stg_orders
CREATE VIEW "public"."stg_orders" AS
select
    (data ->> 'id')::bigint as order_id,
    (data ->> 'user_id')::bigint as customer_id,
    (data ->> 'order_date')::date as order_date,
    data ->> 'status' as status
from raw_orders;

-- view stg_payments
CREATE VIEW "public"."stg_payments" AS
select
    (data ->> 'id')::bigint as payment_id,
    (data ->> 'order_id')::bigint as order_id,
    data ->> 'payment_method' as payment_method,
    -- amount is in cents; numeric division keeps every cent (integer division would drop them)
    ((data ->> 'amount')::numeric / 100)::numeric(12, 2) as amount
from raw_payments;

-- materialized view customers
CREATE MATERIALIZED VIEW "public"."customers" IN CLUSTER "quickstart" AS
with customer_orders as (
    select
        customer_id,
        min(order_date) as first_order,
        max(order_date) as most_recent_order,
        count(order_id) as number_of_orders
    from stg_orders
    group by customer_id
),

customer_payments as (
    select
        stg_orders.customer_id,
        sum(stg_payments.amount) as total_amount
    from stg_payments
    left join stg_orders on stg_payments.order_id = stg_orders.order_id
    group by stg_orders.customer_id
)

select
    stg_customers.customer_id,
    stg_customers.first_name,
    stg_customers.last_name,
    customer_orders.first_order,
    customer_orders.most_recent_order,
    customer_orders.number_of_orders,
    customer_payments.total_amount as customer_lifetime_value
from stg_customers
left join customer_orders on stg_customers.customer_id = customer_orders.customer_id
left join customer_payments on stg_customers.customer_id = customer_payments.customer_id;

-- materialized view orders
CREATE MATERIALIZED VIEW "public"."orders" IN CLUSTER "quickstart" AS
with order_payments as (
    select
        order_id,
        sum(case when payment_method = 'credit_card' then amount else 0.00 end) as credit_card_amount,
        sum(case when payment_method = 'coupon' then amount else 0.00 end) as coupon_amount,
        sum(case when payment_method = 'bank_transfer' then amount else 0.00 end) as bank_transfer_amount,
        sum(case when payment_method = 'gift_card' then amount else 0.00 end) as gift_card_amount,
        sum(amount) as total_amount
    from stg_payments
    group by order_id
)

select
    stg_orders.order_id,
    stg_orders.customer_id,
    stg_orders.order_date,
    stg_orders.status,
    order_payments.credit_card_amount,
    order_payments.coupon_amount,
    order_payments.bank_transfer_amount,
    order_payments.gift_card_amount,
    order_payments.total_amount as amount
from stg_orders
left join order_payments on stg_orders.order_id = order_payments.order_id;

-- materialized view public_etl_failure.unique_stg_customers_customer_id
CREATE MATERIALIZED VIEW "public_etl_failure"."unique_stg_customers_customer_id" IN CLUSTER "quickstart" AS
select
    "customer_id" as unique_field,
    count(*) as n_records
from "stg_customers"
where "customer_id" is not null
group by "customer_id"
having count(*) > 1;

-- materialized view public_etl_failure.not_null_stg_customers_customer_id
CREATE MATERIALIZED VIEW "public_etl_failure"."not_null_stg_customers_customer_id" IN CLUSTER "quickstart" AS
select *
from "stg_customers"
where "customer_id" is null;

-- materialized view public_etl_failure.unique_stg_orders_order_id
CREATE MATERIALIZED VIEW "public_etl_failure"."unique_stg_orders_order_id" IN CLUSTER "quickstart" AS
select
    "order_id" as unique_field,
    count(*) as n_records
from "stg_orders"
where "order_id" is not null
group by "order_id"
having count(*) > 1;

-- materialized view public_etl_failure.not_null_stg_orders_order_id
CREATE MATERIALIZED VIEW "public_etl_failure"."not_null_stg_orders_order_id" IN CLUSTER "quickstart" AS
select *
from "stg_orders"
where "order_id" is null;

-- materialized view public_etl_failure.accepted_values_stg_orders_4f514bf94b77b7ea437830eec4421c58
CREATE MATERIALIZED VIEW "public_etl_failure"."accepted_values_stg_orders_4f514bf94b77b7ea437830eec4421c58" IN CLUSTER "quickstart" AS
with all_values as (
    select
        "status" as value_field,
        count(*) as n_records
    from "stg_orders"
    group by "status"
)

select *
from all_values
where value_field not in ('placed', 'shipped', 'completed', 'return_pending', 'returned');

-- materialized view public_etl_failure.unique_stg_payments_payment_id
CREATE MATERIALIZED VIEW "public_etl_failure"."unique_stg_payments_payment_id" IN CLUSTER "quickstart" AS
select
    "payment_id" as unique_field,
    count(*) as n_records
from "stg_payments"
where "payment_id" is not null
group by "payment_id"
having count(*) > 1;

-- materialized view public_etl_failure.not_null_stg_payments_payment_id
CREATE MATERIALIZED VIEW "public_etl_failure"."not_null_stg_payments_payment_id" IN CLUSTER "quickstart" AS
select *
from "stg_payments"
where "payment_id" is null;

-- materialized view public_etl_failure.relationships_stg_payments_order_id__order_id__ref_stg_orders_
CREATE MATERIALIZED VIEW "public_etl_failure"."relationships_stg_payments_order_id__order_id__ref_stg_orders_" IN CLUSTER "quickstart" AS
with child as (
    select "order_id" as from_field
    from "stg_payments"
    where "order_id" is not null
),

parent as (
    select "order_id" as to_field
    from "stg_orders"
)

select from_field
from child
left join parent on child.from_field = parent.to_field
where parent.to_field is null;

-- materialized view public_etl_failure.accepted_values_stg_payments_c7909fb19b1f0177c2bf99c7912f06ef
CREATE MATERIALIZED VIEW "public_etl_failure"."accepted_values_stg_payments_c7909fb19b1f0177c2bf99c7912f06ef" IN CLUSTER "quickstart" AS
with all_values as (
    select
        "payment_method" as value_field,
        count(*) as n_records
    from "stg_payments"
    group by "payment_method"
)

select *
from all_values
where value_field not in ('credit_card', 'coupon', 'bank_transfer', 'gift_card');

-- materialized view public_etl_failure.not_null_stg_payments_amount
CREATE MATERIALIZED VIEW "public_etl_failure"."not_null_stg_payments_amount" IN CLUSTER "quickstart" AS
select *
from "stg_payments"
where "amount" is null;

-- materialized view public_etl_failure.unique_customers_customer_id
CREATE MATERIALIZED VIEW "public_etl_failure"."unique_customers_customer_id" IN CLUSTER "quickstart" AS
select
    "customer_id" as unique_field,
    count(*) as n_records
from "customers"
where "customer_id" is not null
group by "customer_id"
having count(*) > 1;

-- materialized view public_etl_failure.not_null_customers_customer_id
CREATE MATERIALIZED VIEW "public_etl_failure"."not_null_customers_customer_id" IN CLUSTER "quickstart" AS
select *
from "customers"
where "customer_id" is null;

-- materialized view public_etl_failure.unique_orders_order_id
CREATE MATERIALIZED VIEW "public_etl_failure"."unique_orders_order_id" IN CLUSTER "quickstart" AS
select
    "order_id" as unique_field,
    count(*) as n_records
from "orders"
where "order_id" is not null
group by "order_id"
having count(*) > 1;

-- materialized view public_etl_failure.not_null_orders_order_id
CREATE MATERIALIZED VIEW "public_etl_failure"."not_null_orders_order_id" IN CLUSTER "quickstart" AS
select *
from "orders"
where "order_id" is null;

-- materialized view public_etl_failure.not_null_orders_customer_id
CREATE MATERIALIZED VIEW "public_etl_failure"."not_null_orders_customer_id" IN CLUSTER "quickstart" AS
select *
from "orders"
where "customer_id" is null;

-- materialized view public_etl_failure.relationships_orders_customer_id__customer_id__ref_customers_
CREATE MATERIALIZED VIEW "public_etl_failure"."relationships_orders_customer_id__customer_id__ref_customers_" IN CLUSTER "quickstart" AS
with child as (
    select "customer_id" as from_field
    from "orders"
    where "customer_id" is not null
),

parent as (
    select "customer_id" as to_field
    from "customers"
)

select from_field
from child
left join parent on child.from_field = parent.to_field
where parent.to_field is null;

-- materialized view public_etl_failure.accepted_values_orders_1ce6ab157c285f7cd2ac656013faf758
CREATE MATERIALIZED VIEW "public_etl_failure"."accepted_values_orders_1ce6ab157c285f7cd2ac656013faf758" IN CLUSTER "quickstart" AS
with all_values as (
    select
        "status" as value_field,
        count(*) as n_records
    from "orders"
    group by "status"
)

select *
from all_values
where value_field not in ('placed', 'shipped', 'completed', 'return_pending', 'returned');

-- materialized view public_etl_failure.not_null_orders_amount
CREATE MATERIALIZED VIEW "public_etl_failure"."not_null_orders_amount" IN CLUSTER "quickstart" AS
select *
from "orders"
where "amount" is null;

-- materialized view public_etl_failure.not_null_orders_credit_card_amount
CREATE MATERIALIZED VIEW "public_etl_failure"."not_null_orders_credit_card_amount" IN CLUSTER "quickstart" AS
select *
from "orders"
where "credit_card_amount" is null;

-- materialized view public_etl_failure.not_null_orders_coupon_amount
CREATE MATERIALIZED VIEW "public_etl_failure"."not_null_orders_coupon_amount" IN CLUSTER "quickstart" AS
select *
from "orders"
where "coupon_amount" is null;

-- materialized view public_etl_failure.not_null_orders_bank_transfer_amount
CREATE MATERIALIZED VIEW "public_etl_failure"."not_null_orders_bank_transfer_amount" IN CLUSTER "quickstart" AS
select *
from "orders"
where "bank_transfer_amount" is null;

-- materialized view public_etl_failure.not_null_orders_gift_card_amount
CREATE MATERIALIZED VIEW "public_etl_failure"."not_null_orders_gift_card_amount" IN CLUSTER "quickstart" AS
select *
from "orders"
where "gift_card_amount" is null;

-- index customers_customer_id_idx
CREATE INDEX "customers_customer_id_idx" IN CLUSTER "quickstart" ON "public"."customers" ("customer_id");

-- index orders_order_id_idx
CREATE INDEX "orders_order_id_idx" IN CLUSTER "quickstart" ON "public"."orders" ("order_id");
