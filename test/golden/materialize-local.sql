-- connection kafka_connection
CREATE CONNECTION "kafka_connection" TO KAFKA (BROKER 'jaffle-dev-redpanda:9092', SECURITY PROTOCOL = 'PLAINTEXT');

-- source raw_customers
CREATE SOURCE "raw_customers" IN CLUSTER "quickstart" FROM KAFKA CONNECTION "kafka_connection" (TOPIC 'raw_customers') FORMAT JSON ENVELOPE NONE;

-- source raw_orders
CREATE SOURCE "raw_orders" IN CLUSTER "quickstart" FROM KAFKA CONNECTION "kafka_connection" (TOPIC 'raw_orders') FORMAT JSON ENVELOPE NONE;

-- source raw_payments
CREATE SOURCE "raw_payments" IN CLUSTER "quickstart" FROM KAFKA CONNECTION "kafka_connection" (TOPIC 'raw_payments') FORMAT JSON ENVELOPE NONE;

-- schema public_etl_failure
CREATE SCHEMA "public_etl_failure";

-- view stg_customers
CREATE VIEW "public"."stg_customers" AS
<query of sql/models/stg_customers.sql>;

-- view stg_orders
CREATE VIEW "public"."stg_orders" AS
<query of sql/models/stg_orders.sql>;

-- view stg_payments
CREATE VIEW "public"."stg_payments" AS
<query of sql/models/stg_payments.sql>;

-- materialized view customers
CREATE MATERIALIZED VIEW "public"."customers" IN CLUSTER "quickstart" AS
<query of sql/models/customers.sql>;

-- materialized view orders
CREATE MATERIALIZED VIEW "public"."orders" IN CLUSTER "quickstart" AS
<query of sql/models/orders.sql>;

-- materialized view public_etl_failure.unique_stg_customers_customer_id
CREATE MATERIALIZED VIEW "public_etl_failure"."unique_stg_customers_customer_id" IN CLUSTER "quickstart" AS
<query of sql/schema.yml (unique test on stg_customers.customer_id)>;

-- materialized view public_etl_failure.not_null_stg_customers_customer_id
CREATE MATERIALIZED VIEW "public_etl_failure"."not_null_stg_customers_customer_id" IN CLUSTER "quickstart" AS
<query of sql/schema.yml (not_null test on stg_customers.customer_id)>;

-- materialized view public_etl_failure.unique_stg_orders_order_id
CREATE MATERIALIZED VIEW "public_etl_failure"."unique_stg_orders_order_id" IN CLUSTER "quickstart" AS
<query of sql/schema.yml (unique test on stg_orders.order_id)>;

-- materialized view public_etl_failure.not_null_stg_orders_order_id
CREATE MATERIALIZED VIEW "public_etl_failure"."not_null_stg_orders_order_id" IN CLUSTER "quickstart" AS
<query of sql/schema.yml (not_null test on stg_orders.order_id)>;

-- materialized view public_etl_failure.accepted_values_stg_orders_4f514bf94b77b7ea437830eec4421c58
CREATE MATERIALIZED VIEW "public_etl_failure"."accepted_values_stg_orders_4f514bf94b77b7ea437830eec4421c58" IN CLUSTER "quickstart" AS
<query of sql/schema.yml (accepted_values test on stg_orders.status)>;

-- materialized view public_etl_failure.unique_stg_payments_payment_id
CREATE MATERIALIZED VIEW "public_etl_failure"."unique_stg_payments_payment_id" IN CLUSTER "quickstart" AS
<query of sql/schema.yml (unique test on stg_payments.payment_id)>;

-- materialized view public_etl_failure.not_null_stg_payments_payment_id
CREATE MATERIALIZED VIEW "public_etl_failure"."not_null_stg_payments_payment_id" IN CLUSTER "quickstart" AS
<query of sql/schema.yml (not_null test on stg_payments.payment_id)>;

-- materialized view public_etl_failure.relationships_stg_payments_order_id__order_id__ref_stg_orders_
CREATE MATERIALIZED VIEW "public_etl_failure"."relationships_stg_payments_order_id__order_id__ref_stg_orders_" IN CLUSTER "quickstart" AS
<query of sql/schema.yml (relationships test on stg_payments.order_id)>;

-- materialized view public_etl_failure.accepted_values_stg_payments_c7909fb19b1f0177c2bf99c7912f06ef
CREATE MATERIALIZED VIEW "public_etl_failure"."accepted_values_stg_payments_c7909fb19b1f0177c2bf99c7912f06ef" IN CLUSTER "quickstart" AS
<query of sql/schema.yml (accepted_values test on stg_payments.payment_method)>;

-- materialized view public_etl_failure.not_null_stg_payments_amount
CREATE MATERIALIZED VIEW "public_etl_failure"."not_null_stg_payments_amount" IN CLUSTER "quickstart" AS
<query of sql/schema.yml (not_null test on stg_payments.amount)>;

-- materialized view public_etl_failure.unique_customers_customer_id
CREATE MATERIALIZED VIEW "public_etl_failure"."unique_customers_customer_id" IN CLUSTER "quickstart" AS
<query of sql/schema.yml (unique test on customers.customer_id)>;

-- materialized view public_etl_failure.not_null_customers_customer_id
CREATE MATERIALIZED VIEW "public_etl_failure"."not_null_customers_customer_id" IN CLUSTER "quickstart" AS
<query of sql/schema.yml (not_null test on customers.customer_id)>;

-- materialized view public_etl_failure.unique_orders_order_id
CREATE MATERIALIZED VIEW "public_etl_failure"."unique_orders_order_id" IN CLUSTER "quickstart" AS
<query of sql/schema.yml (unique test on orders.order_id)>;

-- materialized view public_etl_failure.not_null_orders_order_id
CREATE MATERIALIZED VIEW "public_etl_failure"."not_null_orders_order_id" IN CLUSTER "quickstart" AS
<query of sql/schema.yml (not_null test on orders.order_id)>;

-- materialized view public_etl_failure.not_null_orders_customer_id
CREATE MATERIALIZED VIEW "public_etl_failure"."not_null_orders_customer_id" IN CLUSTER "quickstart" AS
<query of sql/schema.yml (not_null test on orders.customer_id)>;

-- materialized view public_etl_failure.relationships_orders_customer_id__customer_id__ref_customers_
CREATE MATERIALIZED VIEW "public_etl_failure"."relationships_orders_customer_id__customer_id__ref_customers_" IN CLUSTER "quickstart" AS
<query of sql/schema.yml (relationships test on orders.customer_id)>;

-- materialized view public_etl_failure.accepted_values_orders_1ce6ab157c285f7cd2ac656013faf758
CREATE MATERIALIZED VIEW "public_etl_failure"."accepted_values_orders_1ce6ab157c285f7cd2ac656013faf758" IN CLUSTER "quickstart" AS
<query of sql/schema.yml (accepted_values test on orders.status)>;

-- materialized view public_etl_failure.not_null_orders_amount
CREATE MATERIALIZED VIEW "public_etl_failure"."not_null_orders_amount" IN CLUSTER "quickstart" AS
<query of sql/schema.yml (not_null test on orders.amount)>;

-- materialized view public_etl_failure.not_null_orders_credit_card_amount
CREATE MATERIALIZED VIEW "public_etl_failure"."not_null_orders_credit_card_amount" IN CLUSTER "quickstart" AS
<query of sql/schema.yml (not_null test on orders.credit_card_amount)>;

-- materialized view public_etl_failure.not_null_orders_coupon_amount
CREATE MATERIALIZED VIEW "public_etl_failure"."not_null_orders_coupon_amount" IN CLUSTER "quickstart" AS
<query of sql/schema.yml (not_null test on orders.coupon_amount)>;

-- materialized view public_etl_failure.not_null_orders_bank_transfer_amount
CREATE MATERIALIZED VIEW "public_etl_failure"."not_null_orders_bank_transfer_amount" IN CLUSTER "quickstart" AS
<query of sql/schema.yml (not_null test on orders.bank_transfer_amount)>;

-- materialized view public_etl_failure.not_null_orders_gift_card_amount
CREATE MATERIALIZED VIEW "public_etl_failure"."not_null_orders_gift_card_amount" IN CLUSTER "quickstart" AS
<query of sql/schema.yml (not_null test on orders.gift_card_amount)>;

-- index customers_customer_id_idx
CREATE INDEX "customers_customer_id_idx" IN CLUSTER "quickstart" ON "public"."customers" ("customer_id");

-- index orders_order_id_idx
CREATE INDEX "orders_order_id_idx" IN CLUSTER "quickstart" ON "public"."orders" ("order_id");
