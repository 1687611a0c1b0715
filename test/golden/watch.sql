select mz_version();

SET cluster TO 'jaffle''s cluster';

begin;

declare watch_counts cursor for subscribe (select 'customers' as relation, count(*) as n from "customers"
union all
select 'orders' as relation, count(*) as n from "orders"
union all
select 'public_etl_failure.unique_stg_customers_customer_id' as relation, count(*) as n from "public_etl_failure"."unique_stg_customers_customer_id"
union all
select 'public_etl_failure.not_null_stg_customers_customer_id' as relation, count(*) as n from "public_etl_failure"."not_null_stg_customers_customer_id"
union all
select 'public_etl_failure.unique_stg_orders_order_id' as relation, count(*) as n from "public_etl_failure"."unique_stg_orders_order_id"
union all
select 'public_etl_failure.not_null_stg_orders_order_id' as relation, count(*) as n from "public_etl_failure"."not_null_stg_orders_order_id"
union all
select 'public_etl_failure.accepted_values_stg_orders_4f514bf94b77b7ea437830eec4421c58' as relation, count(*) as n from "public_etl_failure"."accepted_values_stg_orders_4f514bf94b77b7ea437830eec4421c58"
union all
select 'public_etl_failure.unique_stg_payments_payment_id' as relation, count(*) as n from "public_etl_failure"."unique_stg_payments_payment_id"
union all
select 'public_etl_failure.not_null_stg_payments_payment_id' as relation, count(*) as n from "public_etl_failure"."not_null_stg_payments_payment_id"
union all
select 'public_etl_failure.relationships_stg_payments_order_id__order_id__ref_stg_orders_' as relation, count(*) as n from "public_etl_failure"."relationships_stg_payments_order_id__order_id__ref_stg_orders_"
union all
select 'public_etl_failure.accepted_values_stg_payments_c7909fb19b1f0177c2bf99c7912f06ef' as relation, count(*) as n from "public_etl_failure"."accepted_values_stg_payments_c7909fb19b1f0177c2bf99c7912f06ef"
union all
select 'public_etl_failure.not_null_stg_payments_amount' as relation, count(*) as n from "public_etl_failure"."not_null_stg_payments_amount"
union all
select 'public_etl_failure.unique_customers_customer_id' as relation, count(*) as n from "public_etl_failure"."unique_customers_customer_id"
union all
select 'public_etl_failure.not_null_customers_customer_id' as relation, count(*) as n from "public_etl_failure"."not_null_customers_customer_id"
union all
select 'public_etl_failure.unique_orders_order_id' as relation, count(*) as n from "public_etl_failure"."unique_orders_order_id"
union all
select 'public_etl_failure.not_null_orders_order_id' as relation, count(*) as n from "public_etl_failure"."not_null_orders_order_id"
union all
select 'public_etl_failure.not_null_orders_customer_id' as relation, count(*) as n from "public_etl_failure"."not_null_orders_customer_id"
union all
select 'public_etl_failure.relationships_orders_customer_id__customer_id__ref_customers_' as relation, count(*) as n from "public_etl_failure"."relationships_orders_customer_id__customer_id__ref_customers_"
union all
select 'public_etl_failure.accepted_values_orders_1ce6ab157c285f7cd2ac656013faf758' as relation, count(*) as n from "public_etl_failure"."accepted_values_orders_1ce6ab157c285f7cd2ac656013faf758"
union all
select 'public_etl_failure.not_null_orders_amount' as relation, count(*) as n from "public_etl_failure"."not_null_orders_amount"
union all
select 'public_etl_failure.not_null_orders_credit_card_amount' as relation, count(*) as n from "public_etl_failure"."not_null_orders_credit_card_amount"
union all
select 'public_etl_failure.not_null_orders_coupon_amount' as relation, count(*) as n from "public_etl_failure"."not_null_orders_coupon_amount"
union all
select 'public_etl_failure.not_null_orders_bank_transfer_amount' as relation, count(*) as n from "public_etl_failure"."not_null_orders_bank_transfer_amount"
union all
select 'public_etl_failure.not_null_orders_gift_card_amount' as relation, count(*) as n from "public_etl_failure"."not_null_orders_gift_card_amount") with (progress = false);

fetch all watch_counts with (timeout = '1s');

rollback;

select * from "public_etl_failure"."unique_stg_orders_order_id" limit 5;

select 'customers' as relation, count(*) as n from "customers"
union all
select 'orders' as relation, count(*) as n from "orders"
union all
select 'public_etl_failure.unique_stg_customers_customer_id' as relation, count(*) as n from "public_etl_failure"."unique_stg_customers_customer_id"
union all
select 'public_etl_failure.not_null_stg_customers_customer_id' as relation, count(*) as n from "public_etl_failure"."not_null_stg_customers_customer_id"
union all
select 'public_etl_failure.unique_stg_orders_order_id' as relation, count(*) as n from "public_etl_failure"."unique_stg_orders_order_id"
union all
select 'public_etl_failure.not_null_stg_orders_order_id' as relation, count(*) as n from "public_etl_failure"."not_null_stg_orders_order_id"
union all
select 'public_etl_failure.accepted_values_stg_orders_4f514bf94b77b7ea437830eec4421c58' as relation, count(*) as n from "public_etl_failure"."accepted_values_stg_orders_4f514bf94b77b7ea437830eec4421c58"
union all
select 'public_etl_failure.unique_stg_payments_payment_id' as relation, count(*) as n from "public_etl_failure"."unique_stg_payments_payment_id"
union all
select 'public_etl_failure.not_null_stg_payments_payment_id' as relation, count(*) as n from "public_etl_failure"."not_null_stg_payments_payment_id"
union all
select 'public_etl_failure.relationships_stg_payments_order_id__order_id__ref_stg_orders_' as relation, count(*) as n from "public_etl_failure"."relationships_stg_payments_order_id__order_id__ref_stg_orders_"
union all
select 'public_etl_failure.accepted_values_stg_payments_c7909fb19b1f0177c2bf99c7912f06ef' as relation, count(*) as n from "public_etl_failure"."accepted_values_stg_payments_c7909fb19b1f0177c2bf99c7912f06ef"
union all
select 'public_etl_failure.not_null_stg_payments_amount' as relation, count(*) as n from "public_etl_failure"."not_null_stg_payments_amount"
union all
select 'public_etl_failure.unique_customers_customer_id' as relation, count(*) as n from "public_etl_failure"."unique_customers_customer_id"
union all
select 'public_etl_failure.not_null_customers_customer_id' as relation, count(*) as n from "public_etl_failure"."not_null_customers_customer_id"
union all
select 'public_etl_failure.unique_orders_order_id' as relation, count(*) as n from "public_etl_failure"."unique_orders_order_id"
union all
select 'public_etl_failure.not_null_orders_order_id' as relation, count(*) as n from "public_etl_failure"."not_null_orders_order_id"
union all
select 'public_etl_failure.not_null_orders_customer_id' as relation, count(*) as n from "public_etl_failure"."not_null_orders_customer_id"
union all
select 'public_etl_failure.relationships_orders_customer_id__customer_id__ref_customers_' as relation, count(*) as n from "public_etl_failure"."relationships_orders_customer_id__customer_id__ref_customers_"
union all
select 'public_etl_failure.accepted_values_orders_1ce6ab157c285f7cd2ac656013faf758' as relation, count(*) as n from "public_etl_failure"."accepted_values_orders_1ce6ab157c285f7cd2ac656013faf758"
union all
select 'public_etl_failure.not_null_orders_amount' as relation, count(*) as n from "public_etl_failure"."not_null_orders_amount"
union all
select 'public_etl_failure.not_null_orders_credit_card_amount' as relation, count(*) as n from "public_etl_failure"."not_null_orders_credit_card_amount"
union all
select 'public_etl_failure.not_null_orders_coupon_amount' as relation, count(*) as n from "public_etl_failure"."not_null_orders_coupon_amount"
union all
select 'public_etl_failure.not_null_orders_bank_transfer_amount' as relation, count(*) as n from "public_etl_failure"."not_null_orders_bank_transfer_amount"
union all
select 'public_etl_failure.not_null_orders_gift_card_amount' as relation, count(*) as n from "public_etl_failure"."not_null_orders_gift_card_amount";
