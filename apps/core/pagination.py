from django.core.paginator import Paginator


class CountSavingPaginator(Paginator):
    """A Paginator that reads page 1 before counting: when it is not full, its length is the
    count and the COUNT query is saved (the common case of a search with few results)."""

    def page(self, number):
        if str(number) != "1" or "count" in self.__dict__:
            return super().page(number)
        rows = list(self.object_list[: self.per_page + 1])
        if len(rows) <= self.per_page:
            self.__dict__["count"] = len(rows)  # `count` is a cached_property
        return self._get_page(rows[: self.per_page], 1, self)
