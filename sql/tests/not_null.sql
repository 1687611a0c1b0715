select *
from {{ model }}
where {{ column }} is null
