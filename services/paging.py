"""Page arithmetic shared by the staff lists that show 50 rows a page."""


class Paged:
    """For a dataclass with `total` (rows in all), `number` (this page, from 1) and
    `size` (rows a page)."""

    total: int
    number: int
    size: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.size))

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def has_next(self) -> bool:
        return self.number < self.pages
