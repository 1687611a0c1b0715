-- whether an object exists ($1: schema, $2: name)
select 1 from mz_catalog.mz_schemas s join mz_catalog.mz_databases d on s.database_id = d.id where d.name = current_database() and s.name = $1 and $2::text is not null;
select 1 from mz_catalog.mz_objects o join mz_catalog.mz_schemas s on o.schema_id = s.id join mz_catalog.mz_databases d on s.database_id = d.id where d.name = current_database() and s.name = $1 and o.name = $2;

-- after the other objects, before the earlier layout's resources are deleted (lib/previousLayout.ts): the subsources of
-- its PostgreSQL source, then per subsource the views reading it; each view dropped, then the subsource
select sub_schema.name as schema, sub.name as name from mz_catalog.mz_sources sub join mz_catalog.mz_schemas sub_schema on sub.schema_id = sub_schema.id join mz_internal.mz_object_dependencies dep on dep.object_id = sub.id join mz_catalog.mz_sources src on src.id = dep.referenced_object_id join mz_catalog.mz_schemas src_schema on src.schema_id = src_schema.id join mz_catalog.mz_databases d on src_schema.database_id = d.id where d.name = current_database() and src_schema.name = $1 and src.name = $2 and sub.type = 'subsource';
select v_schema.name as schema, v.name as name from mz_catalog.mz_views v join mz_catalog.mz_schemas v_schema on v.schema_id = v_schema.id join mz_internal.mz_object_dependencies dep on dep.object_id = v.id join mz_catalog.mz_sources sub on sub.id = dep.referenced_object_id join mz_catalog.mz_schemas sub_schema on sub.schema_id = sub_schema.id join mz_catalog.mz_databases d on sub_schema.database_id = d.id where d.name = current_database() and sub_schema.name = $1 and sub.name = $2;
DROP VIEW IF EXISTS "public"."raw_customers";
DROP SOURCE IF EXISTS "public"."raw_customers_cdc";

-- schema ingest
CREATE SCHEMA "ingest";

-- connection ingest.kafka_connection
CREATE CONNECTION "ingest"."kafka_connection" TO KAFKA (BROKER 'jaffle-dev-redpanda:9092', SECURITY PROTOCOL = 'PLAINTEXT');
SHOW CREATE CONNECTION "ingest"."kafka_connection";

-- source ingest.raw_customers_kafka
CREATE SOURCE "ingest"."raw_customers_kafka" IN CLUSTER "quickstart" FROM KAFKA CONNECTION "ingest"."kafka_connection" (TOPIC 'raw_customers');
SHOW CREATE SOURCE "ingest"."raw_customers_kafka";

-- table from source ingest.raw_customers
CREATE TABLE "ingest"."raw_customers" FROM SOURCE "ingest"."raw_customers_kafka" FORMAT JSON ENVELOPE NONE;
SHOW CREATE TABLE "ingest"."raw_customers";

-- source ingest.raw_orders_kafka
CREATE SOURCE "ingest"."raw_orders_kafka" IN CLUSTER "quickstart" FROM KAFKA CONNECTION "ingest"."kafka_connection" (TOPIC 'raw_orders');
SHOW CREATE SOURCE "ingest"."raw_orders_kafka";

-- table from source ingest.raw_orders
CREATE TABLE "ingest"."raw_orders" FROM SOURCE "ingest"."raw_orders_kafka" FORMAT JSON ENVELOPE NONE;
SHOW CREATE TABLE "ingest"."raw_orders";

-- source ingest.raw_payments_kafka
CREATE SOURCE "ingest"."raw_payments_kafka" IN CLUSTER "quickstart" FROM KAFKA CONNECTION "ingest"."kafka_connection" (TOPIC 'raw_payments');
SHOW CREATE SOURCE "ingest"."raw_payments_kafka";

-- table from source ingest.raw_payments
CREATE TABLE "ingest"."raw_payments" FROM SOURCE "ingest"."raw_payments_kafka" FORMAT JSON ENVELOPE NONE;
SHOW CREATE TABLE "ingest"."raw_payments";

-- schema public_etl_failure
CREATE SCHEMA "public_etl_failure";

-- view stg_customers
SET search_path TO "ingest", "public";
CREATE VIEW "public"."stg_customers" AS
<query of sql/models/stg_customers.sql>;
SHOW CREATE VIEW "public"."stg_customers";

-- view stg_orders
SET search_path TO "ingest", "public";
CREATE VIEW "public"."stg_orders" AS
<query of sql/models/stg_orders.sql>;
SHOW CREATE VIEW "public"."stg_orders";

-- view stg_payments
SET search_path TO "ingest", "public";
CREATE VIEW "public"."stg_payments" AS
<query of sql/models/stg_payments.sql>;
SHOW CREATE VIEW "public"."stg_payments";

-- materialized view customers
SET search_path TO "ingest", "public";
CREATE MATERIALIZED VIEW "public"."customers" IN CLUSTER "quickstart" AS
<query of sql/models/customers.sql>;
SHOW CREATE MATERIALIZED VIEW "public"."customers";

-- materialized view orders
SET search_path TO "ingest", "public";
CREATE MATERIALIZED VIEW "public"."orders" IN CLUSTER "quickstart" AS
<query of sql/models/orders.sql>;
SHOW CREATE MATERIALIZED VIEW "public"."orders";

-- materialized view public_etl_failure.unique_stg_customers_customer_id
SET search_path TO "ingest", "public";
CREATE MATERIALIZED VIEW "public_etl_failure"."unique_stg_customers_customer_id" IN CLUSTER "quickstart" AS
<query of sql/schema.yml (unique test on stg_customers.customer_id)>;
SHOW CREATE MATERIALIZED VIEW "public_etl_failure"."unique_stg_customers_customer_id";

-- materialized view public_etl_failure.not_null_stg_customers_customer_id
SET search_path TO "ingest", "public";
CREATE MATERIALIZED VIEW "public_etl_failure"."not_null_stg_customers_customer_id" IN CLUSTER "quickstart" AS
<query of sql/schema.yml (not_null test on stg_customers.customer_id)>;
SHOW CREATE MATERIALIZED VIEW "public_etl_failure"."not_null_stg_customers_customer_id";

-- materialized view public_etl_failure.unique_stg_orders_order_id
SET search_path TO "ingest", "public";
CREATE MATERIALIZED VIEW "public_etl_failure"."unique_stg_orders_order_id" IN CLUSTER "quickstart" AS
<query of sql/schema.yml (unique test on stg_orders.order_id)>;
SHOW CREATE MATERIALIZED VIEW "public_etl_failure"."unique_stg_orders_order_id";

-- materialized view public_etl_failure.not_null_stg_orders_order_id
SET search_path TO "ingest", "public";
CREATE MATERIALIZED VIEW "public_etl_failure"."not_null_stg_orders_order_id" IN CLUSTER "quickstart" AS
<query of sql/schema.yml (not_null test on stg_orders.order_id)>;
SHOW CREATE MATERIALIZED VIEW "public_etl_failure"."not_null_stg_orders_order_id";

-- materialized view public_etl_failure.accepted_values_stg_orders_4f514bf94b77b7ea437830eec4421c58
SET search_path TO "ingest", "public";
CREATE MATERIALIZED VIEW "public_etl_failure"."accepted_values_stg_orders_4f514bf94b77b7ea437830eec4421c58" IN CLUSTER "quickstart" AS
<query of sql/schema.yml (accepted_values test on stg_orders.status)>;
SHOW CREATE MATERIALIZED VIEW "public_etl_failure"."accepted_values_stg_orders_4f514bf94b77b7ea437830eec4421c58";

-- materialized view public_etl_failure.unique_stg_payments_payment_id
SET search_path TO "ingest", "public";
CREATE MATERIALIZED VIEW "public_etl_failure"."unique_stg_payments_payment_id" IN CLUSTER "quickstart" AS
<query of sql/schema.yml (unique test on stg_payments.payment_id)>;
SHOW CREATE MATERIALIZED VIEW "public_etl_failure"."unique_stg_payments_payment_id";

-- materialized view public_etl_failure.not_null_stg_payments_payment_id
SET search_path TO "ingest", "public";
CREATE MATERIALIZED VIEW "public_etl_failure"."not_null_stg_payments_payment_id" IN CLUSTER "quickstart" AS
<query of sql/schema.yml (not_null test on stg_payments.payment_id)>;
SHOW CREATE MATERIALIZED VIEW "public_etl_failure"."not_null_stg_payments_payment_id";

-- materialized view public_etl_failure.relationships_stg_payments_order_id__order_id__ref_stg_orders_
SET search_path TO "ingest", "public";
CREATE MATERIALIZED VIEW "public_etl_failure"."relationships_stg_payments_order_id__order_id__ref_stg_orders_" IN CLUSTER "quickstart" AS
<query of sql/schema.yml (relationships test on stg_payments.order_id)>;
SHOW CREATE MATERIALIZED VIEW "public_etl_failure"."relationships_stg_payments_order_id__order_id__ref_stg_orders_";

-- materialized view public_etl_failure.accepted_values_stg_payments_c7909fb19b1f0177c2bf99c7912f06ef
SET search_path TO "ingest", "public";
CREATE MATERIALIZED VIEW "public_etl_failure"."accepted_values_stg_payments_c7909fb19b1f0177c2bf99c7912f06ef" IN CLUSTER "quickstart" AS
<query of sql/schema.yml (accepted_values test on stg_payments.payment_method)>;
SHOW CREATE MATERIALIZED VIEW "public_etl_failure"."accepted_values_stg_payments_c7909fb19b1f0177c2bf99c7912f06ef";

-- materialized view public_etl_failure.not_null_stg_payments_amount
SET search_path TO "ingest", "public";
CREATE MATERIALIZED VIEW "public_etl_failure"."not_null_stg_payments_amount" IN CLUSTER "quickstart" AS
<query of sql/schema.yml (not_null test on stg_payments.amount)>;
SHOW CREATE MATERIALIZED VIEW "public_etl_failure"."not_null_stg_payments_amount";

-- materialized view public_etl_failure.unique_customers_customer_id
SET search_path TO "ingest", "public";
CREATE MATERIALIZED VIEW "public_etl_failure"."unique_customers_customer_id" IN CLUSTER "quickstart" AS
<query of sql/schema.yml (unique test on customers.customer_id)>;
SHOW CREATE MATERIALIZED VIEW "public_etl_failure"."unique_customers_customer_id";

-- materialized view public_etl_failure.not_null_customers_customer_id
SET search_path TO "ingest", "public";
CREATE MATERIALIZED VIEW "public_etl_failure"."not_null_customers_customer_id" IN CLUSTER "quickstart" AS
<query of sql/schema.yml (not_null test on customers.customer_id)>;
SHOW CREATE MATERIALIZED VIEW "public_etl_failure"."not_null_customers_customer_id";

-- materialized view public_etl_failure.unique_orders_order_id
SET search_path TO "ingest", "public";
CREATE MATERIALIZED VIEW "public_etl_failure"."unique_orders_order_id" IN CLUSTER "quickstart" AS
<query of sql/schema.yml (unique test on orders.order_id)>;
SHOW CREATE MATERIALIZED VIEW "public_etl_failure"."unique_orders_order_id";

-- materialized view public_etl_failure.not_null_orders_order_id
SET search_path TO "ingest", "public";
CREATE MATERIALIZED VIEW "public_etl_failure"."not_null_orders_order_id" IN CLUSTER "quickstart" AS
<query of sql/schema.yml (not_null test on orders.order_id)>;
SHOW CREATE MATERIALIZED VIEW "public_etl_failure"."not_null_orders_order_id";

-- materialized view public_etl_failure.not_null_orders_customer_id
SET search_path TO "ingest", "public";
CREATE MATERIALIZED VIEW "public_etl_failure"."not_null_orders_customer_id" IN CLUSTER "quickstart" AS
<query of sql/schema.yml (not_null test on orders.customer_id)>;
SHOW CREATE MATERIALIZED VIEW "public_etl_failure"."not_null_orders_customer_id";

-- materialized view public_etl_failure.relationships_orders_customer_id__customer_id__ref_customers_
SET search_path TO "ingest", "public";
CREATE MATERIALIZED VIEW "public_etl_failure"."relationships_orders_customer_id__customer_id__ref_customers_" IN CLUSTER "quickstart" AS
<query of sql/schema.yml (relationships test on orders.customer_id)>;
SHOW CREATE MATERIALIZED VIEW "public_etl_failure"."relationships_orders_customer_id__customer_id__ref_customers_";

-- materialized view public_etl_failure.accepted_values_orders_1ce6ab157c285f7cd2ac656013faf758
SET search_path TO "ingest", "public";
CREATE MATERIALIZED VIEW "public_etl_failure"."accepted_values_orders_1ce6ab157c285f7cd2ac656013faf758" IN CLUSTER "quickstart" AS
<query of sql/schema.yml (accepted_values test on orders.status)>;
SHOW CREATE MATERIALIZED VIEW "public_etl_failure"."accepted_values_orders_1ce6ab157c285f7cd2ac656013faf758";

-- materialized view public_etl_failure.not_null_orders_amount
SET search_path TO "ingest", "public";
CREATE MATERIALIZED VIEW "public_etl_failure"."not_null_orders_amount" IN CLUSTER "quickstart" AS
<query of sql/schema.yml (not_null test on orders.amount)>;
SHOW CREATE MATERIALIZED VIEW "public_etl_failure"."not_null_orders_amount";

-- materialized view public_etl_failure.not_null_orders_credit_card_amount
SET search_path TO "ingest", "public";
CREATE MATERIALIZED VIEW "public_etl_failure"."not_null_orders_credit_card_amount" IN CLUSTER "quickstart" AS
<query of sql/schema.yml (not_null test on orders.credit_card_amount)>;
SHOW CREATE MATERIALIZED VIEW "public_etl_failure"."not_null_orders_credit_card_amount";

-- materialized view public_etl_failure.not_null_orders_coupon_amount
SET search_path TO "ingest", "public";
CREATE MATERIALIZED VIEW "public_etl_failure"."not_null_orders_coupon_amount" IN CLUSTER "quickstart" AS
<query of sql/schema.yml (not_null test on orders.coupon_amount)>;
SHOW CREATE MATERIALIZED VIEW "public_etl_failure"."not_null_orders_coupon_amount";

-- materialized view public_etl_failure.not_null_orders_bank_transfer_amount
SET search_path TO "ingest", "public";
CREATE MATERIALIZED VIEW "public_etl_failure"."not_null_orders_bank_transfer_amount" IN CLUSTER "quickstart" AS
<query of sql/schema.yml (not_null test on orders.bank_transfer_amount)>;
SHOW CREATE MATERIALIZED VIEW "public_etl_failure"."not_null_orders_bank_transfer_amount";

-- materialized view public_etl_failure.not_null_orders_gift_card_amount
SET search_path TO "ingest", "public";
CREATE MATERIALIZED VIEW "public_etl_failure"."not_null_orders_gift_card_amount" IN CLUSTER "quickstart" AS
<query of sql/schema.yml (not_null test on orders.gift_card_amount)>;
SHOW CREATE MATERIALIZED VIEW "public_etl_failure"."not_null_orders_gift_card_amount";

-- index customers_customer_id_idx
CREATE INDEX "customers_customer_id_idx" IN CLUSTER "quickstart" ON "public"."customers" ("customer_id");
SHOW CREATE INDEX "public"."customers_customer_id_idx";

-- index orders_order_id_idx
CREATE INDEX "orders_order_id_idx" IN CLUSTER "quickstart" ON "public"."orders" ("order_id");
SHOW CREATE INDEX "public"."orders_order_id_idx";

-- destroy
DROP INDEX IF EXISTS "public"."orders_order_id_idx";
DROP INDEX IF EXISTS "public"."customers_customer_id_idx";
DROP MATERIALIZED VIEW IF EXISTS "public_etl_failure"."not_null_orders_gift_card_amount";
DROP MATERIALIZED VIEW IF EXISTS "public_etl_failure"."not_null_orders_bank_transfer_amount";
DROP MATERIALIZED VIEW IF EXISTS "public_etl_failure"."not_null_orders_coupon_amount";
DROP MATERIALIZED VIEW IF EXISTS "public_etl_failure"."not_null_orders_credit_card_amount";
DROP MATERIALIZED VIEW IF EXISTS "public_etl_failure"."not_null_orders_amount";
DROP MATERIALIZED VIEW IF EXISTS "public_etl_failure"."accepted_values_orders_1ce6ab157c285f7cd2ac656013faf758";
DROP MATERIALIZED VIEW IF EXISTS "public_etl_failure"."relationships_orders_customer_id__customer_id__ref_customers_";
DROP MATERIALIZED VIEW IF EXISTS "public_etl_failure"."not_null_orders_customer_id";
DROP MATERIALIZED VIEW IF EXISTS "public_etl_failure"."not_null_orders_order_id";
DROP MATERIALIZED VIEW IF EXISTS "public_etl_failure"."unique_orders_order_id";
DROP MATERIALIZED VIEW IF EXISTS "public_etl_failure"."not_null_customers_customer_id";
DROP MATERIALIZED VIEW IF EXISTS "public_etl_failure"."unique_customers_customer_id";
DROP MATERIALIZED VIEW IF EXISTS "public_etl_failure"."not_null_stg_payments_amount";
DROP MATERIALIZED VIEW IF EXISTS "public_etl_failure"."accepted_values_stg_payments_c7909fb19b1f0177c2bf99c7912f06ef";
DROP MATERIALIZED VIEW IF EXISTS "public_etl_failure"."relationships_stg_payments_order_id__order_id__ref_stg_orders_";
DROP MATERIALIZED VIEW IF EXISTS "public_etl_failure"."not_null_stg_payments_payment_id";
DROP MATERIALIZED VIEW IF EXISTS "public_etl_failure"."unique_stg_payments_payment_id";
DROP MATERIALIZED VIEW IF EXISTS "public_etl_failure"."accepted_values_stg_orders_4f514bf94b77b7ea437830eec4421c58";
DROP MATERIALIZED VIEW IF EXISTS "public_etl_failure"."not_null_stg_orders_order_id";
DROP MATERIALIZED VIEW IF EXISTS "public_etl_failure"."unique_stg_orders_order_id";
DROP MATERIALIZED VIEW IF EXISTS "public_etl_failure"."not_null_stg_customers_customer_id";
DROP MATERIALIZED VIEW IF EXISTS "public_etl_failure"."unique_stg_customers_customer_id";
DROP MATERIALIZED VIEW IF EXISTS "public"."orders";
DROP MATERIALIZED VIEW IF EXISTS "public"."customers";
DROP VIEW IF EXISTS "public"."stg_payments";
DROP VIEW IF EXISTS "public"."stg_orders";
DROP VIEW IF EXISTS "public"."stg_customers";
DROP SCHEMA IF EXISTS "public_etl_failure";
DROP TABLE IF EXISTS "ingest"."raw_payments";
DROP SOURCE IF EXISTS "ingest"."raw_payments_kafka";
DROP TABLE IF EXISTS "ingest"."raw_orders";
DROP SOURCE IF EXISTS "ingest"."raw_orders_kafka";
DROP TABLE IF EXISTS "ingest"."raw_customers";
DROP SOURCE IF EXISTS "ingest"."raw_customers_kafka";
DROP CONNECTION IF EXISTS "ingest"."kafka_connection";
DROP SCHEMA IF EXISTS "ingest";
