"""Staff commissions (提成) and the monthly settlement (月结): issue 6.

So far the pure parts: the validated rule sets (`rules`), their presets (`presets`) and the
calculation (`engine`). No models yet."""
