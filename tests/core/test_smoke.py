from __future__ import annotations


def test_home_page_lists_the_pilot(client, seeded):
    response = client.get("/")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Meurtre au Futuroscope" in html
    assert 'href="#contenu"' in html
